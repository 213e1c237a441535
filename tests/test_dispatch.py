"""A job whose sends keep failing is tried again until the catch-up window is over; then
the person is told their message went unanswered, and the job is finished for good (a
restart does not pick it up again).

A narrow unit test of the dispatcher, with a stand-in homeserver and clock: a real
homeserver cannot be made to fail the answer's sends for exactly as long as the window
(at least 10 s) and then take the notice, and `MatrixIO.send` itself rides out a
homeserver that is down for several minutes before the dispatcher ever sees a failure.
The event ledger is the real one, on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot import strings
from bot.dispatch import Dispatcher
from bot.jobs import Job
from bot.ledger import EventLedger
from bot.matrix_io import MatrixActionFailed
from bot.routing import Action
from bot.values import MediaRef, ReplyTarget, txn_id
from tests.db import engine_for

WINDOW_S = 10
STARTED_S = 1_800_000_000.0  # when the question was sent, on the stand-in clock
SEND_TAKES_S = 5.0  # a failing send is MatrixIO's own retries: seconds go by


class FlakyHomeserver:
    """Stands in for `MatrixIO`: the first `failures` sends fail as a homeserver that is
    down fails (worth trying again), and each failure moves the clock on; the rest are
    stored. `clock` is the dispatcher's clock."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.now = STARTED_S
        self.attempts: list[dict[str, Any]] = []
        self.stored: list[dict[str, Any]] = []

    def clock(self) -> float:
        return self.now

    async def notice(self, target: ReplyTarget, text: str, kind: str) -> str:
        return await self.send(target.room_id, target.reply(text, notice=True), txn_id(kind, target.event_id))

    async def send(self, room_id: str, content: dict[str, Any], txn: str | None = None) -> str:
        self.attempts.append(content)
        if len(self.attempts) <= self.failures:
            self.now += SEND_TAKES_S
            raise MatrixActionFailed(f"send to {room_id} failed (HTTP 502)", permanent=False)
        self.stored.append(content)
        return f"$stored{len(self.stored)}"


class EchoAnswerer:
    """Stands in for the `Answerer`: posts its answer through the same homeserver."""

    def __init__(self, homeserver: FlakyHomeserver) -> None:
        self._homeserver = homeserver

    async def answer(
        self, target: ReplyTarget, question: str, image: MediaRef | None = None, *, resumed: bool = False
    ) -> None:
        await self._homeserver.send(
            target.room_id, target.reply(f"You said: {question}"), txn_id("answer", target.event_id)
        )


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[EventLedger]:
    async for engine in engine_for("sqlite", tmp_path):
        yield EventLedger(engine)


def _job(action: Action) -> Job:
    target = ReplyTarget("!room:localhost", "$question", "@alice:localhost")
    return Job(action, target, question="hi", received_ms=int(STARTED_S * 1000))


async def _dispatch(ledger: EventLedger, homeserver: FlakyHomeserver, job: Job) -> None:
    dispatcher = Dispatcher(
        EchoAnswerer(homeserver),  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]  # no summary jobs here
        None,  # type: ignore[arg-type]  # no command jobs here
        homeserver,  # type: ignore[arg-type]
        ledger,
        "bot",
        "20 a minute",
        catchup_window_s=WINDOW_S,
        clock=homeserver.clock,
    )
    assert await ledger.claim([job]) == [job]
    assert [pending.event_id for pending in await ledger.pending(since_ms=0)] == [job.event_id]
    await dispatcher.run(job)


@pytest.mark.parametrize("action", [Action.ANSWER, Action.PROMPT_FOR_QUESTION])
async def test_when_sends_fail_past_the_catch_up_window_the_person_is_told_once_and_the_job_ends(
    ledger: EventLedger, action: Action
) -> None:
    homeserver = FlakyHomeserver(failures=2)  # down until the window is over
    job = _job(action)
    await _dispatch(ledger, homeserver, job)

    # Tried again while the window lasted, then the notice, as a reply to the question.
    assert len(homeserver.attempts) == 3
    assert homeserver.attempts[0] == homeserver.attempts[1], "the retry sent something else"
    [notice] = homeserver.stored
    assert notice["msgtype"] == "m.notice" and notice["body"] == strings.DELIVERY_FAILED
    assert notice["m.relates_to"] == {"m.in_reply_to": {"event_id": "$question"}}
    assert notice["m.mentions"] == {"user_ids": ["@alice:localhost"]}

    # The job is over: nothing more is sent, and a restart would not resume it.
    assert await ledger.pending(since_ms=0) == []
    assert len(homeserver.attempts) == 3


async def test_a_send_that_fails_within_the_catch_up_window_is_delivered_without_a_notice(
    ledger: EventLedger,
) -> None:
    homeserver = FlakyHomeserver(failures=1)
    job = _job(Action.ANSWER)
    await _dispatch(ledger, homeserver, job)

    assert [content["body"] for content in homeserver.stored] == ["You said: hi"]
    assert await ledger.pending(since_ms=0) == []
