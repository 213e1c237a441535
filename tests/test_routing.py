"""Which messages the bot answers: the pure routing decision, table-driven."""

from __future__ import annotations

import pytest

from bot.routing import Action, BotIdentity, IncomingMessage, route, strip_address
from common.reply_fallback import strip_reply_fallback

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
        # Another server's bot of the same name is not ours.
        (IncomingMessage(ALICE, "@bot:example.org hello"), Action.IGNORE, ""),
        (IncomingMessage(ALICE, "@bot:localhost.evil hello"), Action.IGNORE, ""),
        (IncomingMessage(ALICE, "bot:example.org hello"), Action.IGNORE, ""),
        (IncomingMessage(ALICE, "@bot: hello"), Action.ANSWER, "hello"),
        (IncomingMessage(ALICE, "@bot:localhost: hello"), Action.ANSWER, "hello"),
        (
            IncomingMessage(ALICE, "hi there", mentioned_user_ids=("@bot:example.org",)),
            Action.IGNORE,
            "",
        ),
        # Catch-up summaries: `!summary` in any room, or asked of the bot in words.
        (IncomingMessage(ALICE, "!summary"), Action.SUMMARIZE, ""),
        (IncomingMessage(ALICE, "!Summary 200"), Action.SUMMARIZE, "200"),
        (IncomingMessage(ALICE, "!summarize since monday"), Action.SUMMARIZE, "since monday"),
        (IncomingMessage(ALICE, "@bot !summary 2h"), Action.SUMMARIZE, "2h"),
        (IncomingMessage(ALICE, "@bot summarize"), Action.SUMMARIZE, ""),
        (IncomingMessage(ALICE, "@bot summarise the last 2h"), Action.ANSWER, "summarise the last 2h"),
        (IncomingMessage(ALICE, "@bot summarize 2h"), Action.SUMMARIZE, "2h"),
        (IncomingMessage(ALICE, "@bot what did I miss?"), Action.SUMMARIZE, "what did I miss?"),
        (IncomingMessage(ALICE, "what did I miss", is_direct=True), Action.SUMMARIZE, "what did I miss"),
        (IncomingMessage(ALICE, "what did I miss"), Action.IGNORE, ""),  # not asked of the bot
        (
            IncomingMessage(ALICE, "@bot summarize the plot of Hamlet"),
            Action.ANSWER,
            "summarize the plot of Hamlet",
        ),
        (IncomingMessage(ALICE, "!summary please", msgtype="m.notice"), Action.IGNORE, ""),
        (IncomingMessage("@bot:localhost", "!summary"), Action.IGNORE, ""),
        (IncomingMessage(ALICE, "!summaryx"), Action.IGNORE, ""),
        # `!docs` too works unaddressed; files are read in any room.
        (IncomingMessage(ALICE, "!docs"), Action.COMMAND, "!docs"),
        (IncomingMessage(ALICE, "@bot !docs"), Action.COMMAND, "!docs"),
        (IncomingMessage(ALICE, "!docsx"), Action.IGNORE, ""),
        (IncomingMessage(ALICE, "!use #club"), Action.IGNORE, ""),  # other commands stay addressed
        (IncomingMessage(ALICE, "report.pdf", msgtype="m.file"), Action.INDEX, ""),
        (IncomingMessage("@bot:localhost", "report.pdf", msgtype="m.file"), Action.IGNORE, ""),
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


@pytest.mark.parametrize(
    ("message", "action", "question"),
    [
        (IncomingMessage(ALICE, "hello there", is_direct=True), Action.ANSWER, "hello there"),
        (IncomingMessage(ALICE, "@bot hello there", is_direct=True), Action.ANSWER, "hello there"),
        (IncomingMessage(ALICE, "!help", is_direct=True), Action.COMMAND, "!help"),
        (IncomingMessage(ALICE, "@bot !models"), Action.COMMAND, "!models"),
        (IncomingMessage(ALICE, "!help"), Action.IGNORE, ""),
        (IncomingMessage(ALICE, "a caption", msgtype="m.image", is_direct=True), Action.ANSWER, "a caption"),
        (IncomingMessage(ALICE, "", msgtype="m.image", is_direct=True), Action.ANSWER, ""),
        (IncomingMessage(ALICE, "", msgtype="m.image"), Action.IGNORE, ""),
        (IncomingMessage(ALICE, "hi", msgtype="m.notice", is_direct=True), Action.IGNORE, ""),
        (IncomingMessage("@bot:localhost", "hi", is_direct=True), Action.IGNORE, ""),
    ],
)
def test_route_direct_chats_commands_and_images(
    message: IncomingMessage, action: Action, question: str
) -> None:
    decision = route(message, BOT)
    assert decision.action is action, decision.reason
    assert decision.question == question
    assert decision.with_image == (message.msgtype == "m.image" and action is Action.ANSWER)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("> <@alice:localhost> earlier words\n> more\n\n@bot what about this?", "@bot what about this?"),
        ("@bot plain question", "@bot plain question"),
        ("> a quote I typed myself\n@bot explain", "> a quote I typed myself\n@bot explain"),
    ],
)
def test_strip_reply_fallback(body: str, expected: str) -> None:
    assert strip_reply_fallback(body) == expected


@pytest.mark.parametrize(
    ("message", "action", "question"),
    [
        # An addressed message starting with "remind" or "every" (whole words) sets a reminder.
        (
            IncomingMessage(ALICE, "@bot remind us friday 18:00 to bring the chairs"),
            Action.REMIND,
            "remind us friday 18:00 to bring the chairs",
        ),
        (IncomingMessage(ALICE, "@bot Remind me in 2 hours"), Action.REMIND, "Remind me in 2 hours"),
        (IncomingMessage(ALICE, "@bot: REMIND: call Anna"), Action.REMIND, "REMIND: call Anna"),
        (IncomingMessage(ALICE, "@bot every monday 9:00 water"), Action.REMIND, "every monday 9:00 water"),
        (
            IncomingMessage(ALICE, "remind me at 9 to stretch", is_direct=True),
            Action.REMIND,
            "remind me at 9 to stretch",
        ),
        (
            IncomingMessage(ALICE, "Every day at 8: pills", is_direct=True),
            Action.REMIND,
            "Every day at 8: pills",
        ),
        (
            IncomingMessage(ALICE, "remind me tomorrow", mentioned_user_ids=("@bot:localhost",)),
            Action.REMIND,
            "remind me tomorrow",
        ),
        # Not whole words, not at the start, or not addressed: not a reminder.
        (IncomingMessage(ALICE, "@bot reminders are useful?"), Action.ANSWER, "reminders are useful?"),
        (IncomingMessage(ALICE, "@bot everyone here?"), Action.ANSWER, "everyone here?"),
        (IncomingMessage(ALICE, "@bot can you remind me at 9?"), Action.ANSWER, "can you remind me at 9?"),
        (IncomingMessage(ALICE, "remind us friday 18:00 to bring the chairs"), Action.IGNORE, ""),
        (IncomingMessage(ALICE, "every monday we meet"), Action.IGNORE, ""),
        (IncomingMessage("@bot:localhost", "remind me", is_direct=True), Action.IGNORE, ""),
        (IncomingMessage(ALICE, "@bot remind me", msgtype="m.notice"), Action.IGNORE, ""),
        # The reminder commands are commands.
        (IncomingMessage(ALICE, "@bot !reminders"), Action.COMMAND, "!reminders"),
        (IncomingMessage(ALICE, "!cancel 2", is_direct=True), Action.COMMAND, "!cancel 2"),
        (IncomingMessage(ALICE, "!reminders"), Action.IGNORE, ""),  # unaddressed in a group room
    ],
)
def test_route_reminders(message: IncomingMessage, action: Action, question: str) -> None:
    decision = route(message, BOT)
    assert decision.action is action, decision.reason
    assert decision.question == question
