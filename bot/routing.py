"""Which messages are for the bot: a pure decision, with no I/O.

`route()` looks at one message and says whether to answer it and with what question.
The dispatcher in `bot.app` acts on the decision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class BotIdentity:
    user_id: str
    display_name: str

    @property
    def localpart(self) -> str:
        return self.user_id[1:].split(":", 1)[0]


@dataclass(frozen=True)
class IncomingMessage:
    sender: str
    body: str
    msgtype: str = "m.text"
    mentioned_user_ids: tuple[str, ...] = ()


class Action(Enum):
    IGNORE = "ignore"
    ANSWER = "answer"
    PROMPT_FOR_QUESTION = "prompt_for_question"


@dataclass(frozen=True)
class Decision:
    action: Action
    question: str = ""
    reason: str = ""


def _address_pattern(bot: BotIdentity) -> re.Pattern[str]:
    """`@bot`, the full user id, or Element's pill text (`Display Name:`) at the start."""
    handles = sorted({re.escape(f"@{bot.localpart}"), re.escape(bot.user_id)}, key=len, reverse=True)
    handle = "|".join(handles)
    pill = re.escape(bot.display_name)
    return re.compile(
        rf"^\s*(?:(?:{handle})(?=$|[\s:,])[:,]?|{pill}:)(?P<rest>.*)$",
        re.IGNORECASE | re.DOTALL,
    )


def strip_address(body: str, bot: BotIdentity) -> str | None:
    """The text after the bot's address, or None when the body does not start with one."""
    match = _address_pattern(bot).match(body)
    return match.group("rest").strip() if match else None


def route(message: IncomingMessage, bot: BotIdentity) -> Decision:
    if message.sender == bot.user_id:
        return Decision(Action.IGNORE, reason="own message")
    if message.msgtype != "m.text":
        return Decision(Action.IGNORE, reason=f"msgtype {message.msgtype}")
    question = strip_address(message.body, bot)
    if question is None and bot.user_id in message.mentioned_user_ids:
        question = message.body.strip()
    if question is None:
        return Decision(Action.IGNORE, reason="not addressed to the bot")
    if not question:
        return Decision(Action.PROMPT_FOR_QUESTION, reason="address without a question")
    return Decision(Action.ANSWER, question=question, reason="addressed to the bot")
