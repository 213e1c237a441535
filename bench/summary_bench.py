"""The catch-up summary benchmark (issue 16): `python -m bench summary`. A room of two
people and the bot with 500 messages; `!summary 500` until the first words of the
summary are seen, against an ordinary `@bot` question in the same room until its first
words (the baseline, interleaved round by round); the bot's peak memory meanwhile.
The model is the Ollama double in a process of its own, answering at once."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from nio import RoomCreateResponse, RoomPreset

from bench.first_text import TimedSends
from bench.measure import Distribution, _time_until_seen, rss_mb
from bench.report import machine, write_section
from bench.stack import bench_stack, model_process
from tests.matrix_user import MatrixUser, wait_for_answer, wait_until_member

MESSAGES = 500
ROUNDS = 10
WARM_UP = 2
REPLY = "- The picnic moved to Saturday [1]\n- Ben brings the cake [2]\n- Rain is expected [3]"
FIRST_WORDS = "The picnic moved"


@dataclass(frozen=True)
class Figures:
    question: Distribution
    summary: Distribution
    rss_start: float
    rss_peak: float
    fill_s: float


class PeakRss:
    """The highest RSS of a process, sampled every 20 ms while in use."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        thread = threading.Thread(target=self._sample, daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb(self.pid))


async def _room(alice: MatrixUser, bob: MatrixUser, bot_id: str) -> str:
    created = await alice.client.room_create(preset=RoomPreset.private_chat, invite=[bot_id, bob.user_id])
    assert isinstance(created, RoomCreateResponse), created
    await wait_until_member(alice, created.room_id, bot_id)
    await bob.join(created.room_id)
    return created.room_id


def _first_words(bot_id: str, words: str):  # type: ignore[no-untyped-def]
    def seen(event: dict) -> bool:  # type: ignore[type-arg]
        content = event.get("content", {})
        shown = content.get("m.new_content", content)
        return event.get("sender") == bot_id and words in str(shown.get("body", ""))

    return seen


async def _measure(stack, peak: PeakRss) -> Figures:  # type: ignore[no-untyped-def]
    synapse = stack.synapse
    bot_id = synapse.provisioned.bot_user_id
    alice = await MatrixUser.register(synapse, "alice")
    bob = await MatrixUser.register(synapse, "bob")
    room = await _room(alice, bob, bot_id)
    started = asyncio.get_running_loop().time()
    for i in range(MESSAGES):
        speaker = alice if i % 2 else bob
        await speaker.send(room, f"message {i}: the picnic, the weather and who brings what, once more")
    fill_s = asyncio.get_running_loop().time() - started
    rss_start = rss_mb(peak.pid)
    asker = TimedSends(alice)
    first_words = _first_words(bot_id, FIRST_WORDS)
    questions, summaries = [], []
    with peak.watching():
        for i in range(WARM_UP + ROUNDS):
            asked = await _time_until_seen(asker, asker, room, f"@bot question {i}", first_words)
            await wait_for_answer(asker, room, asker.last_event_id, bot_id, lambda v: "Rain" in v.body, 60)
            summed = await _time_until_seen(asker, asker, room, f"!summary {MESSAGES}", first_words)
            await wait_for_answer(asker, room, asker.last_event_id, bot_id, lambda v: "Rain" in v.body, 60)
            if i >= WARM_UP:
                questions.append(asked)
                summaries.append(summed)
    await alice.close()
    await bob.close()
    return Figures(Distribution(questions), Distribution(summaries), rss_start, peak.peak, fill_s)


def render(figures: Figures) -> str:
    ratio = figures.summary.median_ms / figures.question.median_ms
    return "\n".join(
        [
            "## Catch-up summaries (issue 16)",
            "",
            f"Machine: {machine()}.",
            "",
            f"A room of two people and the bot with {MESSAGES} messages (sent in {figures.fill_s:.0f} s); "
            f"{ROUNDS} rounds after {WARM_UP} warm-up rounds, each asking an ordinary `@bot` question (the "
            f"baseline) and then `!summary {MESSAGES}`, until the asker's sync shows the first words. "
            "The model is the Ollama double, answering at once, so the figures are the bot's and "
            "the homeserver's own cost.",
            "",
            "| measure | p50 | p90 |",
            "|---|---|---|",
            f"| baseline: `@bot` question → its first words | {figures.question.median_ms:.1f} ms "
            f"| {figures.question.p90_ms:.1f} ms |",
            f"| `!summary {MESSAGES}` → the summary's first words | {figures.summary.median_ms:.1f} ms "
            f"| {figures.summary.p90_ms:.1f} ms |",
            "",
            f"- Ratio summary/question: {ratio:.1f}× at the median. The summary reads the {MESSAGES} messages "
            "back with `/messages` (100 events a page), keeps what the asker may read, and, as they do not "
            "fit the default `MAX_CONTEXT_TOKENS=4096`, summarizes them in parts and combines those "
            "before the summary streams.",
            f"- Bot RSS: {figures.rss_start:.0f} MB before the rounds, peak {figures.rss_peak:.0f} MB during "
            f"them ({figures.rss_peak / figures.rss_start:.2f}×).",
        ]
    )


def run() -> str:
    with model_process(REPLY, 0.0, 0.0) as model, bench_stack(model) as stack:
        assert stack.bot.process is not None
        figures = asyncio.run(_measure(stack, PeakRss(stack.bot.process.pid)))
    body = render(figures)
    write_section("summary", body)
    return body
