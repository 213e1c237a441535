"""The floor and the first text of an answer (issue 13): per round, one plain message
(its sync hop to another user, and its send round trip), one `@bot` question to our bot
and one `.ai` question to ollamarama-matrix, interleaved so all see the same machine noise.
Each question is answered in full before the next round starts."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from bench.answers import shown_body
from bench.measure import Distribution, _time_until_seen
from bench.ollamarama import PREFIX, Peer
from tests.matrix_user import Event, MatrixUser, wait_for_answer

WARM_UP_ROUNDS = 3
ROUND_TIMEOUT_S = 30.0


class TimedSends(MatrixUser):
    """The same client as `user`, remembering each send's start, round trip (PUT → 200) and id."""

    def __init__(self, user: MatrixUser) -> None:
        super().__init__(user.client)
        self.seen = user.seen
        self.round_trips: list[float] = []
        self.last_event_id = ""
        self.last_started = 0.0

    async def send(self, room_id: str, body: str, **extra: Any) -> str:
        started = self.last_started = time.perf_counter()
        self.last_event_id = await super().send(room_id, body, **extra)
        self.round_trips.append(time.perf_counter() - started)
        return self.last_event_id


class FirstWords:
    """A match for `_time_until_seen`: true at `bot`'s first event that shows `words`;
    it also notes when the bot's first event of any kind (a placeholder) was seen."""

    def __init__(self, bot: str, words: str) -> None:
        self.bot = bot
        self.words = words
        self.any_at: float | None = None
        self.words_at: float | None = None

    def __call__(self, event: Event) -> bool:
        if event.get("sender") != self.bot:
            return False
        now = time.perf_counter()
        self.any_at = self.any_at or now
        if self.words in shown_body(event):
            self.words_at = now
            return True
        return False

    def first_event_after(self, words_after: float) -> float:
        """Seconds until the first event, given the seconds until the words."""
        assert self.any_at is not None and self.words_at is not None
        return words_after - (self.words_at - self.any_at)


@dataclass(frozen=True)
class FirstText:
    hop: Distribution  # a plain message, sender's send → the other user's sync sees it
    send: Distribution  # the same message's PUT send → 200
    ours: Distribution  # `@bot` question → the asker's sync sees the answer's first words
    peer_words: Distribution | None  # the same for ollamarama-matrix's answer
    peer_first: Distribution | None  # … and for its first event (the "Thinking." placeholder)

    @property
    def floor_ms(self) -> float:
        """One sync hop to the bot, the bot's send, one sync hop back."""
        return 2 * self.hop.median_ms + self.send.median_ms


@dataclass(frozen=True)
class Rooms:
    public: str  # where alice asks our bot and bob watches alice's plain messages
    peer: str | None  # where alice asks ollamarama-matrix


async def measure(
    alice: MatrixUser, bob: MatrixUser, bot_id: str, peer: Peer | None, rooms: Rooms, reply: str, rounds: int
) -> FirstText:
    """`reply`: the model's (instant) answer; its first word is what counts as first text."""
    asker = TimedSends(alice)
    words = reply.split()[0]
    hops, sends, ours, peer_words, peer_first = [], [], [], [], []
    for i in range(rounds + WARM_UP_ROUNDS):
        text = f"hello bob {i}"
        hop = await _bounded(
            _time_until_seen(asker, bob, rooms.public, text, lambda e, t=text: _body(e) == t)
        )
        send = asker.round_trips[-1]
        our = await _bounded(
            _time_until_seen(asker, asker, rooms.public, f"@bot question {i}", FirstWords(bot_id, words))
        )
        done = lambda view: reply in view.body  # noqa: E731
        await wait_for_answer(asker, rooms.public, asker.last_event_id, bot_id, done, ROUND_TIMEOUT_S)
        theirs = await _ask_peer(asker, peer, rooms.peer, i, reply) if peer and rooms.peer else None
        if i < WARM_UP_ROUNDS:  # warm caches and connections first
            continue
        hops.append(hop)
        sends.append(send)
        ours.append(our)
        if theirs:
            peer_words.append(theirs[0])
            peer_first.append(theirs[1])
    return FirstText(
        Distribution(hops),
        Distribution(sends),
        Distribution(ours),
        Distribution(peer_words) if peer_words else None,
        Distribution(peer_first) if peer_first else None,
    )


async def _ask_peer(asker: MatrixUser, peer: Peer, room_id: str, i: int, reply: str) -> tuple[float, float]:
    """Seconds until ollamarama's answer shows the whole reply (it does not stream), and
    until its first event (the placeholder) was seen."""
    match = FirstWords(peer.user_id, reply)
    words_after = await _bounded(_time_until_seen(asker, asker, room_id, f"{PREFIX} question {i}", match))
    return words_after, match.first_event_after(words_after)


def _body(event: Event) -> str:
    return str(event.get("content", {}).get("body", ""))


async def _bounded(measurement: Any) -> float:
    """`_time_until_seen` waits for ever; a round that takes this long is a failure."""
    return float(await asyncio.wait_for(measurement, ROUND_TIMEOUT_S))
