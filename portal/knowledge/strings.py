"""What the Room knowledge page says to people, in one place. The states use the same
words as the bot's `!docs` (bot/strings.py)."""

from __future__ import annotations

# A file's state.
QUEUED = "Waiting to be read"
INDEXING = "Being read: {progress}% done"
READY = "Ready: {size}, {chunks}"
FAILED = "Could not be read: {reason}"
FAILED_NO_REASON = "Could not be read."
UNKNOWN_STATE = "Unknown state ({state})"
YOU = "you"

# Naming rooms without a name.
DIRECT_CHAT_WITH_ASSISTANT = "Direct chat with the assistant"
EMPTY_ROOM = "Empty room"
AND_OTHERS = "{names} and {count} more"

# The upload.
CHOOSE_A_ROOM = "Choose one of your rooms to add the file to."
NOT_YOUR_ROOM = "You can only add files to rooms you have joined."
ENCRYPTED_ROOM = (
    "{room} is end-to-end encrypted, and the portal holds no keys, so it does not post files "
    "there in plain text. Post the file in the room from a Matrix client such as Element; the "
    "assistant reads it there too."
)
NO_ASSISTANT = "The assistant is not in {room}, so it would not read the file. Invite {bot} there first."
CHOOSE_A_FILE = "Choose a file to add."
WRONG_KIND = (
    "Only PDF (.pdf), plain text (.txt) and Markdown (.md) files can be added; {name} is none of these."
)
EMPTY_FILE = "{name} is empty, so there is nothing to read in it."
NOT_A_PDF = "{name} is not a PDF (it does not start like one)."
NOT_TEXT = "{name} is not plain text (the portal takes text in UTF-8)."
UNEXPECTED_FIELD = "The form had a field the portal does not take. Reload the page and try again."
POSTED = (
    "Posted {name} in {room}. The assistant reads it next; it is listed here once the assistant "
    "has picked it up (reload the page to follow it)."
)
POST_REFUSED = "The homeserver did not let you post in {room}, so the file was not added."
HOMESERVER_TOO_LARGE = "The homeserver does not take files this large, so the file was not added."
NOT_STORED = "The homeserver could not store the file; try again."

# Deleting.
NO_SUCH_FILE = "There is no such file in your rooms."
NOT_YOURS = "Only the person who posted a file, or a moderator of its room, can delete it."
REDACT_REFUSED = "The homeserver did not let you delete that message, so the file stays."
