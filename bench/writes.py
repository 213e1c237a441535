"""Homeserver writes per answer (issue 13), counted by a `CountingProxy` in front of
Synapse (the bot's `HOMESERVER_URL`), and the timeline of each answer, with a second
proxy in front of the model: where the bot's time goes before its first send."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass

from bench.counting_proxy import WRITE_KINDS, Call, CountingProxy, count_writes
from bench.first_text import FirstWords, TimedSends
from bench.measure import _time_until_seen
from tests.matrix_user import MatrixUser, wait_for_answer

QUIET_S = 1.0  # an answer's writes are over when the bot has written nothing for this long


@dataclass(frozen=True)
class Writes:
    answers: int
    counts: Counter[str]

    @property
    def per_answer(self) -> float:
        return sum(self.counts.values()) / self.answers

    def by_kind(self) -> str:
        parts = [f"{self.counts[kind] / self.answers:g} {kind}" for kind in WRITE_KINDS if self.counts[kind]]
        return ", ".join(parts) or "none"


@dataclass(frozen=True)
class Timeline:
    """One answer, in seconds from the moment the question's send started."""

    bot_synced: float  # the bot's /sync that brought the question returned to it
    model_asked: float  # the bot's chat request reached the model
    model_words: float  # the model's first words came back
    send_started: float  # the bot's first send of the answer (PUT m.room.message) began
    send_done: float  # Synapse answered that send
    seen: float  # the asker's sync saw the answer's first words
    writes_before: tuple[str, ...]  # the bot's other writes between the question and that send
    reads_before: int  # and its reads (not counting /sync)


async def ask(
    asker: MatrixUser,
    room_id: str,
    bot_id: str,
    reply: str,
    questions: int,
    homeserver: CountingProxy,
    model: CountingProxy | None = None,
) -> tuple[Writes, list[Timeline]]:
    """Ask `questions` one after the other, each once the last answer's writes are over;
    count the bot's writes, and (given the model's proxy) each answer's timeline."""
    timed = TimedSends(asker)
    since = time.perf_counter()
    timelines = []
    for i in range(questions):
        seen = await asyncio.wait_for(
            _time_until_seen(timed, timed, room_id, f"question {i}", FirstWords(bot_id, reply.split()[0])), 30
        )
        started = timed.last_started
        await wait_for_answer(timed, room_id, timed.last_event_id, bot_id, lambda v: reply in v.body, 30)
        await _until_quiet(homeserver)
        if model is not None:
            timelines.append(timeline(started, seen, homeserver.calls(), model.calls(started)))
    counts = count_writes(homeserver.calls(since))
    return Writes(questions, counts), timelines


async def _until_quiet(proxy: CountingProxy, longest: float = 10.0) -> None:
    deadline = time.perf_counter() + longest
    while time.perf_counter() < deadline:
        writes = [call.finished for call in proxy.calls() if call.is_write]
        if not writes or time.perf_counter() - max(writes) >= QUIET_S:
            return
        await asyncio.sleep(0.1)  # polling the proxy's record, not a fixed wait


def timeline(started: float, seen: float, homeserver: list[Call], model: list[Call]) -> Timeline:
    synced = min(c.finished for c in homeserver if c.kind == "sync" and c.finished >= started)
    send = next(c for c in homeserver if c.kind == "message" and c.started >= started)
    chat = next(c for c in model if c.path == "/api/chat")
    between = [c for c in homeserver if started <= c.started < send.started]
    return Timeline(
        bot_synced=synced - started,
        model_asked=chat.started - started,
        model_words=chat.first_byte - started,
        send_started=send.started - started,
        send_done=send.first_byte - started,
        seen=seen,
        writes_before=tuple(c.kind for c in between if c.is_write and c.started >= synced),
        reads_before=sum(1 for c in between if c.kind == "read" and c.started >= synced),
    )


def median_timeline(timelines: list[Timeline]) -> Timeline:
    def median(name: str) -> float:
        return statistics.median(getattr(t, name) for t in timelines)

    writes = Counter(t.writes_before for t in timelines)
    return Timeline(
        bot_synced=median("bot_synced"),
        model_asked=median("model_asked"),
        model_words=median("model_words"),
        send_started=median("send_started"),
        send_done=median("send_done"),
        seen=median("seen"),
        writes_before=writes.most_common(1)[0][0],
        reads_before=round(statistics.median(t.reads_before for t in timelines)),
    )
