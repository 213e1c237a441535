"""Which messages are for the bot, and what they ask: a pure decision, with no I/O.

`route()` looks at one message and says whether to answer it, run a command, or ignore
it, and why. `bot.dispatch` acts on the decision.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import Enum

from bot.commands import Command, CommandName, parse_command
from bot.summary.request import SummaryRequestError, is_catch_up_phrase, parse_summary_request
from bot.values import BotIdentity


@dataclass(frozen=True)
class IncomingMessage:
    sender: str
    body: str
    msgtype: str = "m.text"
    mentioned_user_ids: tuple[str, ...] = ()
    is_direct: bool = False
    timestamp_ms: int = 0


class Action(Enum):
    IGNORE = "ignore"
    ANSWER = "answer"
    COMMAND = "command"
    PROMPT_FOR_QUESTION = "prompt_for_question"
    SUMMARIZE = "summarize"  # a catch-up summary; the question is the request's wording
    INDEX = "index"  # a file posted in the room: read it into the room's knowledge
    UNINDEX = "unindex"  # a message was removed: if it was a file, forget its knowledge
    REACT = "react"  # a reaction on one of the bot's answers: 🔁, ⏩, 👍 or 👎 (the question)
    REMIND = "remind"  # `remind us friday 18:00 …`, `every monday 9:00 …`: a reminder to set
    # Not a routing outcome: the rate limiter turns an answer or command into this.
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class Decision:
    action: Action
    question: str = ""
    reason: str = ""
    with_image: bool = False
    command: Command | None = None


@functools.cache
def _address_pattern(bot: BotIdentity) -> re.Pattern[str]:
    """At the start: the full user id, `@bot` (never `@bot:other.server`), or Element's
    pill text (`Display Name:`)."""
    full = re.escape(bot.user_id)
    short = re.escape(f"@{bot.localpart}")
    pill = re.escape(bot.display_name)
    return re.compile(
        rf"^\s*(?:{full}(?=$|[\s:,])[:,]?|{short}(?=$|[\s,]|:(?:\s|$))[:,]?|{pill}:(?=\s|$))(?P<rest>.*)$",
        re.IGNORECASE | re.DOTALL,
    )


# Reactions the bot acts on, by what they ask (a variation selector after the emoji is the same emoji).
AGAIN, GO_ON, GOOD, BAD = "again", "go on", "good", "bad"
REACTIONS = {"🔁": AGAIN, "⏩": GO_ON, "👍": GOOD, "👎": BAD}


def reaction_meaning(key: str) -> str | None:
    """What a reaction asks of the bot ("again", "go on", "good", "bad"), or None."""
    return REACTIONS.get(key.replace("\ufe0f", "").strip())


def strip_address(body: str, bot: BotIdentity) -> str | None:
    """The text after the bot's address, or None when the body does not start with one."""
    match = _address_pattern(bot).match(body)
    return match.group("rest").strip() if match else None


def _question(message: IncomingMessage, bot: BotIdentity) -> str | None:
    addressed = strip_address(message.body, bot)
    if addressed is not None:
        return addressed
    if message.is_direct or bot.user_id in message.mentioned_user_ids:
        return message.body.strip()
    return None


def route(message: IncomingMessage, bot: BotIdentity) -> Decision:
    if message.sender == bot.user_id:
        return Decision(Action.IGNORE, reason="own message")
    if message.msgtype == "m.image":
        if message.is_direct:
            return Decision(
                Action.ANSWER, question=message.body, reason="image in a direct chat", with_image=True
            )
        return Decision(Action.IGNORE, reason="image outside a direct chat")
    if message.msgtype == "m.file":  # any room's files may become its knowledge
        return Decision(Action.INDEX, reason="file posted")
    if message.msgtype != "m.text":
        return Decision(Action.IGNORE, reason=f"msgtype {message.msgtype}")
    summary = summary_command(message.body)
    if summary is not None:  # `!summary` and `!docs` work in any room, addressed or not
        return Decision(Action.SUMMARIZE, question=summary, reason="summary command")
    unaddressed = parse_command(message.body)
    if unaddressed is not None and unaddressed.name is CommandName.DOCS:
        return Decision(
            Action.COMMAND, question=message.body.strip(), reason="docs command", command=unaddressed
        )
    question = _question(message, bot)
    if question is None:
        return Decision(Action.IGNORE, reason="not addressed to the bot")
    if not question:
        return Decision(Action.PROMPT_FOR_QUESTION, reason="address without a question")
    summary = summary_command(question)
    if summary is None:
        summary = summary_wording(question, message.timestamp_ms)
    if summary is not None:
        return Decision(Action.SUMMARIZE, question=summary, reason="summary asked")
    command = parse_command(question)
    if command is not None:
        return Decision(Action.COMMAND, question=question, reason="command", command=command)
    if _REMINDER_WORDS.match(question):
        return Decision(Action.REMIND, question=question, reason="reminder asked")
    where = "direct chat" if message.is_direct else "addressed to the bot"
    return Decision(Action.ANSWER, question=question, reason=where)


# An addressed message that starts with "remind" or "every" (whole words) sets a reminder.
_REMINDER_WORDS = re.compile(r"^(?:remind|every)\b", re.IGNORECASE)
_SUMMARY_COMMAND = re.compile(r"^\s*!summar(?:y|ize|ise)(?:\s+(?P<rest>.*))?$", re.IGNORECASE | re.DOTALL)
_SUMMARY_WORDS = re.compile(r"^(?:summar(?:y|ize|ise))\b[:,]?(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)


def summary_command(text: str) -> str | None:
    """`!summary <span>` (or `!summarize`): the span's wording, else None."""
    match = _SUMMARY_COMMAND.match(text)
    return (match.group("rest") or "").strip() if match else None


def summary_wording(question: str, timestamp_ms: int) -> str | None:
    """What an addressed question asks when it is a summary: "what did I miss", or
    "summarize" followed by nothing or a span the summary understands ("summarize 2h").
    "Summarize the plot of Hamlet" stays a question for the model."""
    if is_catch_up_phrase(question):
        return question.strip()
    match = _SUMMARY_WORDS.match(question.strip())
    if match is None:
        return None
    rest = match.group("rest").strip()
    if rest and isinstance(parse_summary_request(rest, timestamp_ms), SummaryRequestError):
        return None
    return rest
