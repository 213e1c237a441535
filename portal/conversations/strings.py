"""What the "My AI conversations" pages and their exports say, in one place (the pages'
own text is in their templates)."""

from __future__ import annotations

NO_CONVERSATION = "You have no conversation with the assistant there."
DIRECT_CHAT = "Direct chat with the assistant"

# The shared part of a room, when it is not shown.
NOT_A_MEMBER = "You are not in this room any more, so what it shares is not shown."
SHARED_UNAVAILABLE = "What this room shares could not be read from the chat server just now."

# The exports.
YOU = "You"
ASSISTANT = "Assistant"
FILE_NAME_FALLBACK = "conversation"
MARKDOWN_HEAD = (
    "# AI conversation in {name}, exported {date}\n\n"
    "Room: {name} (`{room_id}`). Exported {time}. Oldest message first; each message is in a "
    "fenced block under its speaker's heading, exactly as written.\n"
)
MARKDOWN_END = "End of the export: {count} messages.\n"
