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
    "in a thread, the thread), or `@{bot} what did I miss`\n\n"
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
