"""From an event to a job: the pure intake, table-driven (what routing decides, plus what
only the intake knows: edits, stale history, other servers, images and replies)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.commands import CommandName
from bot.intake import Intake, RoomFacts
from bot.routing import Action
from bot.values import BotIdentity

BOT = BotIdentity("@bot:localhost", "bot")
NOW_MS = 1_800_000_000_000
PDF = {
    "msgtype": "m.file",
    "body": "report.pdf",
    "url": "mxc://localhost/report",
    "info": {"mimetype": "application/pdf", "size": 1234},
}
IMAGE = {
    "msgtype": "m.image",
    "body": "cat.png",
    "url": "mxc://localhost/cat",
    "info": {"mimetype": "image/png"},
}


def _event(content: dict[str, Any], sender: str = "@alice:localhost", age_ms: int = 1000) -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "event_id": "$e",
        "sender": sender,
        "origin_server_ts": NOW_MS - age_ms,
        "content": content,
    }


@pytest.mark.parametrize(
    ("event", "direct", "action", "question"),
    [
        (_event({"msgtype": "m.text", "body": "@bot hi"}), False, Action.ANSWER, "hi"),
        (_event({"msgtype": "m.text", "body": "hi"}), True, Action.ANSWER, "hi"),
        (_event({"msgtype": "m.text", "body": "hi"}), False, None, None),
        (_event({"msgtype": "m.text", "body": "@bot !models"}), False, Action.COMMAND, "!models"),
        (_event({"msgtype": "m.text", "body": "@bot"}), False, Action.PROMPT_FOR_QUESTION, ""),
        (_event(IMAGE), True, Action.ANSWER, ""),
        (_event(IMAGE), False, None, None),
        (
            _event({**IMAGE, "body": "what is this?", "filename": "cat.png"}),
            True,
            Action.ANSWER,
            "what is this?",
        ),
        # edits are not new questions
        (
            _event(
                {
                    "msgtype": "m.text",
                    "body": "* @bot hi",
                    "m.relates_to": {"rel_type": "m.replace", "event_id": "$x"},
                }
            ),
            False,
            None,
            None,
        ),
        (_event({"msgtype": "m.text", "body": "@bot hi"}, age_ms=11 * 60 * 1000), False, None, None),  # stale
        (_event({"msgtype": "m.text", "body": "@bot hi"}, sender="@eve:evil.example"), False, None, None),
        (_event({"msgtype": "m.text", "body": "@bot hi"}, sender="@bot:localhost"), False, None, None),
        (_event({}), False, None, None),  # redacted
        # A file in any room may become its knowledge; whether it is a document is the
        # indexer's question. A file without a URL is malformed (tested elsewhere).
        (_event(PDF), False, Action.INDEX, "report.pdf"),
        (_event(PDF), True, Action.INDEX, "report.pdf"),
        (_event({**PDF, "body": "the caption", "filename": "notes.md"}), False, Action.INDEX, "notes.md"),
        (_event(PDF, sender="@bot:localhost"), False, None, None),
        (_event(PDF, age_ms=11 * 60 * 1000), False, None, None),
        # A removed message (room versions 11+ and older ones) may have been a file.
        (
            {
                "type": "m.room.redaction",
                "event_id": "$x",
                "sender": "@a:localhost",
                "origin_server_ts": NOW_MS,
                "content": {"redacts": "$file"},
            },
            False,
            Action.UNINDEX,
            "$file",
        ),
        (
            {
                "type": "m.room.redaction",
                "event_id": "$x",
                "sender": "@a:localhost",
                "origin_server_ts": NOW_MS,
                "redacts": "$old",
                "content": {},
            },
            False,
            Action.UNINDEX,
            "$old",
        ),
        (
            {
                "type": "m.room.redaction",
                "event_id": "$x",
                "sender": "@a:localhost",
                "origin_server_ts": NOW_MS,
                "content": {"redacts": 7},
            },
            False,
            None,
            None,
        ),
        (
            {
                "type": "m.reaction",
                "event_id": "$r",
                "sender": "@a:localhost",
                "origin_server_ts": NOW_MS,
                "content": {},
            },
            True,
            None,
            None,
        ),
    ],
)
def test_intake(event: dict[str, Any], direct: bool, action: Action | None, question: str | None) -> None:
    job = Intake(BOT, catchup_window_s=600).job_for(RoomFacts("!r:localhost", direct), event, now_ms=NOW_MS)
    if action is None:
        assert job is None
        return
    assert job is not None and job.action is action and job.question == question
    assert job.received_ms == event["origin_server_ts"]


def test_a_job_carries_what_it_needs() -> None:
    intake = Intake(BOT, catchup_window_s=600)
    room = RoomFacts("!r:localhost", is_direct=False)
    reply = {
        "msgtype": "m.text",
        "body": "@bot what is it?",
        "m.relates_to": {"m.in_reply_to": {"event_id": "$pic"}},
    }
    job = intake.job_for(room, _event(reply), now_ms=NOW_MS)
    assert job is not None and job.reply_to_image == "$pic" and job.target.thread_root is None
    thread = {
        "msgtype": "m.text",
        "body": "@bot and here?",
        "m.relates_to": {"rel_type": "m.thread", "event_id": "$root"},
    }
    job = intake.job_for(room, _event(thread), now_ms=NOW_MS)
    assert job is not None and job.target.thread_root == "$root"
    command = intake.job_for(room, _event({"msgtype": "m.text", "body": "@bot !model llava"}), now_ms=NOW_MS)
    assert command is not None and command.command is not None
    assert command.command.name is CommandName.MODEL and command.command.argument == "llava"
    image = intake.job_for(RoomFacts("!dm:localhost", True), _event(IMAGE), now_ms=NOW_MS)
    assert image is not None and image.media is not None and image.media.url == "mxc://localhost/cat"


def test_history_from_before_the_bot_joined_is_never_answered() -> None:
    intake = Intake(BOT, catchup_window_s=600)
    join = {
        "type": "m.room.member",
        "state_key": "@bot:localhost",
        "origin_server_ts": NOW_MS - 500,
        "content": {"membership": "join"},
    }
    assert intake.note_joins("!r:localhost", [join])
    before = _event({"msgtype": "m.text", "body": "@bot hi"}, age_ms=1000)
    after = _event({"msgtype": "m.text", "body": "@bot hi"}, age_ms=100)
    room = RoomFacts("!r:localhost", False)
    assert intake.job_for(room, before, now_ms=NOW_MS) is None
    assert intake.job_for(room, after, now_ms=NOW_MS) is not None
