"""Every sentence the bot says to people, in one place."""

from __future__ import annotations

AI_UNAVAILABLE = "Sorry, the AI service is unavailable right now. Please try again in a little while."
AI_NOT_RUNNING = (
    "Sorry, the AI service is not running: Ollama did not answer at {urls}. "
    "Whoever runs this server can start it with `ollama serve` (or point `OLLAMA_BASE_URL` at it)."
)
MODEL_NOT_PULLED = (
    "Ollama at {urls} does not have the model `{model}` yet. "
    "Whoever runs this server can fetch it with `ollama pull {short}`."
)
QUEUE_PLACE = (
    "The assistant is busy: {ahead} {questions} ahead of yours. I'll answer here when it's your turn."
)
QUEUE_NEXT = "The assistant is busy: yours is next. I'll answer here in a moment."
MODEL_LOADING = (
    "The model `{model}` is loading into memory; the first answer after a start can take a minute. "
    "I'll answer here."
)
ANSWER_INTERRUPTED = "(The answer was cut short: the AI service stopped responding.)"
ANSWER_AT_LENGTH_LIMIT = "(The answer stopped at the model's length limit.)"
AI_REFUSED = "The AI service could not take that request: {reason}"
MODEL_CANNOT_CHAT = (
    "The model `{model}` cannot chat (it only makes embeddings, for example). "
    "Choose another with `!model <name>`; `!models` lists them."
)
SOMETHING_WENT_WRONG = "Sorry, something went wrong while I was answering that. Please ask again."
DELIVERY_FAILED = (
    "Sorry, I could not post my answer to your message in time (the chat server kept failing). "
    "Please ask again."
)
EMPTY_QUESTION = "Ask me something after the mention, for example: @{bot} what is Matrix?"
MODEL_MISSING = (
    "Your model `{model}` is not available in Ollama any more. "
    "Choose another with `!model <name>`; `!models` lists them."
)
NO_VISION = "The model `{model}` cannot see images."
NO_VISION_SUGGEST = " Switch to one that can with `!model {suggestion}`."
NO_VISION_NONE = " None of the models in Ollama can see images."
IMAGE_UNREADABLE = "Sorry, I could not download that image from the homeserver."
IMAGE_TOO_LARGE = "That image is larger than {mb} MB, so I cannot look at it. Please send a smaller one."
INPUT_CUT = "Your message was long, so I only read its first {limit:,} characters."
DEFAULT_IMAGE_QUESTION = "Describe this image."

GREETING = (
    "Hi! I'm the AI assistant. Everything you write here is a question for me, and I "
    "remember our conversation in this chat.\n\n{commands}"
)
COMMANDS_HELP = (
    "Commands:\n"
    "- `!help`: this list\n"
    "- `!models`: the models you can choose, and your current one\n"
    "- `!model <name>`: use another model\n"
    "- `!reset`: forget our conversation in this room\n"
    "- `!summary`: catch up on a room (`!summary 200`, `!summary 2h`, `!summary since monday`; "
    "in a thread, the thread), or `@{bot} what did I miss`\n"
    "- `!docs`: the files of this room's knowledge (post a PDF, `.txt` or `.md` file in a room and "
    "I answer questions there from it, with sources)\n"
    "- `!use #room`: in our direct chat, answer from that room's files (`!use off` to stop)\n"
    "- `!persona <text>`: the role I take in this room (moderators; `!persona` shows it, "
    "`!persona reset` clears it)\n"
    "- `!remember <fact>`, `!notes`, `!forget <n>`: notes everyone in this room shares with me\n"
    "- `@{bot} remind us friday 18:00 to …`, `@{bot} remind me in 2 hours to …`, "
    "`@{bot} every monday 9:00 …`: a reminder posted in this room at that time\n"
    "- `!reminders`: this room's reminders; `!cancel <n>`: cancel one (yours, or any as a moderator)\n"
    "- `!timezone Europe/Berlin`: your time zone for reminders (`!timezone room …`: the room's, "
    "for moderators)\n"
    "- React to one of my answers with 🔁 to have it answered again, ⏩ to continue one that "
    "stopped at the length limit, 👍 or 👎 to tell the admins how I did\n\n"
    "In other rooms, start with `@{bot}`: `@{bot} <question>` or `@{bot} !help`."
)
SUMMARY_HEADING = "**Summary: {span}** ({count})"
SUMMARY_CAPPED = "\nThat span is longer than I read at once, so this covers its newest messages."
SUMMARY_UNREADABLE = "\n{count} could not be read: they are encrypted and I have no key for them."
SUMMARY_NOTHING = "Nothing to summarize ({span}): there are no messages there that you can read."
SUMMARY_PROGRESS = "Reading {count} messages… {percent}%"
QUOTA_LEFT = "\n\nYour assistant quota: {left}."
ACCESS_REFUSED = (
    "Sorry, the assistant on this server is only for some people, and you are not one of them yet. "
    "Ask the server's admins if you need it."
)
QUOTA_REACHED = (
    "You have used today's assistant quota ({limit}). It starts again at midnight UTC; "
    "the server's admins can raise it."
)
UNKNOWN_COMMAND = "I don't know the command {command}. {help_hint}"
HELP_HINT = "Say `!help` for the list."
MODELS_HEADER = "Models you can use (yours is marked):"
MODELS_LINE = "- `{name}`{vision}{current}"
MODELS_VISION_MARK = " (sees images)"
MODELS_CURRENT_MARK = " **← current**"
MODELS_NONE = "Ollama has no models yet. An operator can add one with `ollama pull llama3`."
MODELS_CURRENT_MISSING = "\n\nYour current model `{model}` is not available any more."
MODEL_USAGE = "Say which model, for example `!model llama3:latest`. `!models` lists them."
MODEL_SET = "Done: I'll answer you with `{model}` from now on."
MODEL_UNKNOWN = "There is no model called {model} to choose here. `!models` lists the ones you can use."
RESET_DONE = "Done: I've forgotten our conversation in this room."
RATE_LIMITED = (
    "You're asking faster than I can keep up with ({rate}). "
    "Please wait a moment; I'll answer your next message."
)
UNDECRYPTABLE = (
    "I couldn't decrypt a message in this room, so I can't answer it. "
    "Please make sure your client shares keys with unverified devices, then send it again."
)

KNOWLEDGE_READY = (
    "I've read **{name}** ({size}, {chunks} passages): it is now part of this room's knowledge. "
    "Ask me about it with `@{bot} <question>`; `!docs` lists the room's files."
)
KNOWLEDGE_REFUSED = "I couldn't add this file to the room's knowledge. {reason}"
KNOWLEDGE_TOO_LARGE = "{name} is larger than {mb} MB, the most a file of the room's knowledge may be."
KNOWLEDGE_UNDOWNLOADABLE = "I could not download {name} from the homeserver."
KNOWLEDGE_NO_TEXT = "{name} has no text I can read."
KNOWLEDGE_EMBED_MISSING = (
    "Ollama does not have the embedding model `{model}` yet. Whoever runs this server can fetch it "
    "with `ollama pull {short}`; then post the file again."
)
KNOWLEDGE_EMBED_UNAVAILABLE = (
    "The AI service was unavailable while I read it, so it is not indexed. Please post it again later."
)
KNOWLEDGE_SOURCES = "\n\n**Sources** (this room's files):\n{lines}"
KNOWLEDGE_SOURCE_LINE = "{number}. [{name}, {location}]({link})"
KNOWLEDGE_NOTHING_RELEVANT = (
    "\n\n_Nothing in this room's files matches this question, so this answer is not from them._"
)
KNOWLEDGE_STILL_INDEXING = (
    "\n\n_Still being read: {names}. What is in {them} is not (all) in this answer yet; ask again "
    "when `!docs` shows {them} ready._"
)
KNOWLEDGE_USING = "\n\n_(From the knowledge of {room}, chosen with `!use`.)_"
KNOWLEDGE_SOURCE_GONE = (
    "You are no longer in {room}, so I no longer answer from its files here. `!use` shows what you can "
    "choose."
)
DOCS_HEADER = "The files of {room}'s knowledge:"
DOCS_NONE = (
    "{room} has no files in its knowledge yet. Post a PDF, a `.txt` or a `.md` file there, or upload "
    "one on the portal's Room knowledge page, and I'll read it."
)
DOCS_LINE = "- **{name}** (posted by {uploader}): {state}"
DOCS_QUEUED = "waiting to be read"
DOCS_INDEXING = "being read, {progress}%"
DOCS_READY = "ready: {size}, {chunks} passages"
DOCS_FAILED = "could not be read: {reason}"
USE_USAGE = (
    "In our direct chat, `!use #room` answers your questions from that room's files (a room you are "
    "in); `!use off` stops it. {current}"
)
USE_CURRENT = "Now: {room}."
USE_NONE = "Now: no room."
USE_ONLY_DIRECT = "`!use` works only in your direct chat with me: here, I answer from this room's own files."
USE_SET = "Done: in this chat I answer from the files of {room}. `!docs` lists them; `!use off` stops it."
USE_OFF = "Done: in this chat I no longer answer from any room's files."
USE_UNKNOWN_ROOM = "I can't find the room {room}. Name it by its address, for example `!use #club:{server}`."
USE_NOT_MEMBER = "You can only use the files of a room you are in, and you are not in {room}."
USE_BOT_NOT_THERE = "I am not in {room}, so I have none of its files. Invite me there first."


def document_size(kind: str, pages: int) -> str:
    """`12 pages` for a PDF, `3 sections` for text."""
    unit = "page" if kind == "pdf" else "section"
    return f"{pages} {unit}{'' if pages == 1 else 's'}"


KNOWLEDGE_SEARCH_FAILED = (
    "I could not search this room's files just now (the embedding model `{model}` did not answer), "
    "so this answer is not from them."
)

# The room's persona and shared notes (issue 17).
PERSONA_NONE = (
    "This room has no persona: I answer as the plain assistant. The room's moderators can give me one "
    "with `!persona <how I should be>` (for example `!persona You are the chess club's friendly coach.`)."
)
PERSONA_SHOW = "This room's persona (set by {by}):\n\n> {prompt}\n\n`!persona reset` clears it."
PERSONA_SET = (
    "Done: that is my persona in this room from now on. It is stored in the room's settings "
    "(everyone can see it there); `!persona` shows it and `!persona reset` clears it."
)
PERSONA_RESET = "Done: I have no persona in this room any more."
PERSONA_TOO_LONG = "A persona can be at most {limit:,} characters; that one has {length:,}."
PERSONA_NOT_ALLOWED = (
    "Sorry, only the room's moderators (people who may change its settings) can change my persona "
    "here. `!persona` shows the current one."
)
PERSONA_BOT_NOT_ALLOWED = (
    "I may not change this room's settings myself, so I could not store the persona. A moderator can "
    "give me the power to send `{event_type}` events (or make me a moderator), and then ask again."
)
NOTES_REMEMBER_USAGE = (
    "Tell me what to remember for this room, for example `!remember The key is under the mat.`"
)
NOTES_TOO_LONG = "A note can be at most {limit:,} characters; that one has {length:,}."
NOTES_ROOM_FULL = "This room already has {limit} notes, the most it can keep. `!forget <n>` removes one."
NOTES_PERSON_FULL = (
    "You have added {limit} notes in this room, the most one person can. `!forget <n>` removes one."
)
NOTES_REMEMBERED = (
    "Noted for everyone in this room (note {number}). I'll use it when I answer here; `!notes` lists "
    "the room's notes."
)
NOTES_NONE = "This room has no notes. `!remember <fact>` adds one that everyone here shares."
NOTES_HEADER = "This room's notes (shared with everyone here):"
NOTES_LINE = "{number}. {text} (added by {name})"
NOTES_FORGET_USAGE = "Say which note to forget by its number, for example `!forget 2`. `!notes` lists them."
NOTES_NO_SUCH = "There is no note {number} here (the room has {count}). `!notes` lists them."
NOTES_NOT_YOURS = (
    "Sorry, only the person who added note {number}, or one of the room's moderators, can remove it."
)
NOTES_FORGOTTEN = "Done: I've forgotten the note “{text}”."


# Reminders: `@bot remind …` (bot/reminders/setter.py), what is posted (bot/reminders/messages.py),
# `!timezone`, `!reminders` and `!cancel` (bot/reminders/commands.py).
REMINDER_EXAMPLES = (
    "- `@{bot} remind us friday 18:00 to bring the chairs`\n"
    "- `@{bot} remind me in 2 hours to call Anna`\n"
    "- `@{bot} remind me tomorrow at 9:00 to send the invoice`\n"
    "- `@{bot} every monday 9:00 water the plants`"
)
REMINDER_UNCLEAR = (
    "Sorry, I couldn't tell when to remind you. Name a day and a time, or a delay, for example:\n{examples}"
)
REMINDER_PAST = (
    "That time has already passed ({when}), so I did not set the reminder. Name a time still to come."
)
REMINDER_TOO_FAR = "That is more than five years ahead, further than I keep reminders. Name a nearer time."
REMINDER_ROOM_FULL = (
    "This room already has {limit} reminders, the most it can have. `!reminders` lists them; "
    "`!cancel <n>` removes one."
)
REMINDER_PERSON_FULL = (
    "You already have {limit} reminders (in all your rooms), the most one person can have. "
    "`!cancel <n>` in a reminder's room removes it."
)
REMINDER_SET = "Done: I'll remind {whom} {schedule}: {text}\n`!reminders` lists this room's reminders."
REMINDER_WHOM_ME = "you"
REMINDER_WHOM_US = "this room"
REMINDER_ONCE = "on {when} ({zone})"
REMINDER_EVERY_WEEK = "every {weekday} at {clock} ({zone}), next on {when}"
REMINDER_EVERY_DAY = "every day at {clock} ({zone}), next on {when}"
REMINDER_POST = "⏰ {text}"
REMINDER_POST_FOR = "⏰ {person}: {text}"
REMINDER_LATE_OFFLINE = "\n\n_(late: the assistant was offline at {clock})_"
REMINDER_LATE = "\n\n_(late: this was due at {clock})_"
REMINDER_MISSED = (
    "I missed a reminder for {when}: the assistant was offline then and for more than {grace} after. "
    "It was: {text}"
)
REMINDER_NO_TEXT = "(no text)"
REMINDERS_NONE = "This room has no reminders. Set one with `@{bot} remind us friday 18:00 to …`."
REMINDERS_HEADER = "This room's reminders (`!cancel <n>` removes one):"
REMINDERS_LINE = "{number}. {schedule}: {text} (set by {name})"
CANCEL_USAGE = "Say which reminder to cancel by its number, for example `!cancel 2`. `!reminders` lists them."
CANCEL_NO_SUCH = "There is no reminder {number} here (the room has {count}). `!reminders` lists them."
CANCEL_NOT_YOURS = (
    "Sorry, only the person who set reminder {number}, or one of the room's moderators, can cancel it."
)
CANCEL_DONE = "Done: I cancelled the reminder {schedule}: {text}"
TIMEZONE_YOURS = "Your time zone for reminders is {zone}{default}. Change it with `!timezone Europe/Berlin`."
TIMEZONE_DEFAULT = " (the default: you have not chosen one)"
TIMEZONE_ROOM = "This room's time zone is {zone} (set by {name}): `remind us` here uses it."
TIMEZONE_ROOM_NONE = (
    "This room has no time zone of its own: `remind us` here uses the time zone of whoever asks. "
    "A moderator can set one with `!timezone room Europe/Berlin`."
)
TIMEZONE_SET = "Done: your time zone is {zone}. Reminders you set from now on use it."
TIMEZONE_CLEARED = "Done: your time zone is back to the default, UTC."
TIMEZONE_ROOM_SET = "Done: this room's time zone is {zone}; `remind us` here uses it."
TIMEZONE_ROOM_CLEARED = "Done: this room has no time zone of its own any more."
TIMEZONE_UNKNOWN = (
    "I don't know the time zone {zone}. Use a name from the IANA list, like `Europe/Berlin`, "
    "`America/New_York` or `Asia/Tokyo`."
)
TIMEZONE_ROOM_REFUSED = (
    "Sorry, only the room's moderators (people who may change its settings) can set its time zone. "
    "`!timezone Europe/Berlin` sets your own."
)
