"""Which messages the bot answers: the pure routing decision, table-driven."""

from __future__ import annotations

import pytest

from bot.routing import Action, BotIdentity, IncomingMessage, route, strip_address

BOT = BotIdentity("@bot:localhost", "bot")
ALICE = "@alice:localhost"


@pytest.mark.parametrize(
    ("message", "action", "question"),
    [
        (IncomingMessage(ALICE, "@bot hello"), Action.ANSWER, "hello"),
        (IncomingMessage(ALICE, "@BOT What is Matrix?"), Action.ANSWER, "What is Matrix?"),
        (IncomingMessage(ALICE, "@Bot: tell me a joke"), Action.ANSWER, "tell me a joke"),
        (IncomingMessage(ALICE, "@bot:localhost summarise this"), Action.ANSWER, "summarise this"),
        (IncomingMessage(ALICE, "bot: what time is it"), Action.ANSWER, "what time is it"),
        (IncomingMessage(ALICE, "  @bot\nmultiline\nquestion"), Action.ANSWER, "multiline\nquestion"),
        (
            IncomingMessage(ALICE, "hey, can you help?", mentioned_user_ids=("@bot:localhost",)),
            Action.ANSWER,
            "hey, can you help?",
        ),
        (IncomingMessage(ALICE, "@bot"), Action.PROMPT_FOR_QUESTION, ""),
        (IncomingMessage(ALICE, "@bot   "), Action.PROMPT_FOR_QUESTION, ""),
        (IncomingMessage(ALICE, "hello everyone"), Action.IGNORE, ""),
        (IncomingMessage(ALICE, "@botanist hello"), Action.IGNORE, ""),
        (IncomingMessage(ALICE, "bot is great"), Action.IGNORE, ""),
        (IncomingMessage(ALICE, "I asked @bot hello earlier"), Action.IGNORE, ""),
        (IncomingMessage(ALICE, "@bot hi", mentioned_user_ids=("@carol:localhost",)), Action.ANSWER, "hi"),
        (IncomingMessage("@bot:localhost", "@bot hello"), Action.IGNORE, ""),
        (IncomingMessage(ALICE, "@bot hello", msgtype="m.notice"), Action.IGNORE, ""),
        (IncomingMessage(ALICE, "@bot hello", msgtype="m.emote"), Action.IGNORE, ""),
    ],
)
def test_route(message: IncomingMessage, action: Action, question: str) -> None:
    decision = route(message, BOT)
    assert decision.action is action, decision.reason
    assert decision.question == question


def test_custom_bot_name_and_display_name() -> None:
    assistant = BotIdentity("@assistant:example.org", "AI Helper")
    assert strip_address("@assistant what now", assistant) == "what now"
    assert strip_address("AI Helper: what now", assistant) == "what now"
    assert strip_address("@bot what now", assistant) is None
