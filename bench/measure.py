"""The four measurements: (a) user-to-user baseline, (b) bot latency to first visible
text, (c) makespan of 20 simultaneous questions to a 1 s model, (d) bot RSS after 1,000
conversations."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.stack import BenchStack
from common.synapse_admin import register_user
from tests.matrix_user import MatrixUser, open_direct_chat, wait_for_answer
from tests.synapse_server import SynapseServer


@dataclass(frozen=True)
class Distribution:
    samples: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p90_ms(self) -> float:
        ordered = sorted(self.samples)
        return ordered[max(0, round(0.9 * len(ordered)) - 1)] * 1000


async def _time_until_seen(sender: MatrixUser, watcher: MatrixUser, room_id: str, body: str, match) -> float:
    """Seconds from just before `sender` sends `body` until `watcher`'s long-poll sync sees
    an event satisfying `match` (the watcher is already waiting when the send starts)."""
    await watcher.sync()
    waiting = asyncio.create_task(_watch(watcher, room_id, match))
    await asyncio.sleep(0.02)  # let the watcher's long-poll reach Synapse before the send
    started = time.perf_counter()
    event_id = await sender.send(room_id, body)
    seen_at = await waiting
    del event_id
    return seen_at - started


async def _watch(watcher: MatrixUser, room_id: str, match) -> float:
    while True:
        response = await watcher.sync(timeout_ms=10_000)
        room = response.rooms.join.get(room_id)
        for event in room.timeline.events if room else []:
            if match(event.source):
                return time.perf_counter()


async def baseline_and_bot_latency(stack: BenchStack, rounds: int) -> tuple[Distribution, Distribution]:
    """(a) and (b), interleaved round by round so both see the same machine noise."""
    synapse = stack.synapse
    bot_id = synapse.provisioned.bot_user_id
    alice = await MatrixUser.register(synapse, "alice")
    bob = await MatrixUser.register(synapse, "bob")
    room_id = await alice.join(f"#public:{synapse.server_name}")
    await bob.join(room_id)
    baseline, bot = [], []
    try:
        for i in range(rounds + 3):
            text = f"hello bob {i}"
            a = await _time_until_seen(
                alice, bob, room_id, text, lambda e, t=text: e["content"].get("body") == t
            )
            question = f"@bot question {i}"
            b = await _time_until_seen(
                alice,
                alice,
                room_id,
                question,
                lambda e: (
                    e.get("sender") == bot_id and "m.in_reply_to" in e["content"].get("m.relates_to", {})
                ),
            )
            if i >= 3:  # the first rounds warm up caches and connections
                baseline.append(a)
                bot.append(b)
    finally:
        await alice.close()
        await bob.close()
    return Distribution(baseline), Distribution(bot)


MAKESPAN_WORDS = 10
MAKESPAN_REPLY = " ".join(f"w{i}" for i in range(MAKESPAN_WORDS))


def one_second_model() -> tuple[str, float, float]:
    """Reply, first-chunk delay and chunk delay of a model that takes 1 s per answer."""
    return MAKESPAN_REPLY, 0.5, 0.5 / (MAKESPAN_WORDS - 1)


async def concurrent_makespan(stack: BenchStack, users: int = 20) -> float:
    """(c): `users` people each ask in their AI chat at the same moment; seconds until
    every answer is complete. The bot's model is `one_second_model()`, in its own process."""
    synapse = stack.synapse
    bot_id = synapse.provisioned.bot_user_id
    people = [await MatrixUser.register(synapse, f"crowd{i}") for i in range(users)]
    rooms = [(await open_direct_chat(p, bot_id))[0] for p in people]
    expected = MAKESPAN_REPLY
    try:
        started = time.perf_counter()
        questions = await asyncio.gather(
            *(p.send(r, f"question from {i}") for i, (p, r) in enumerate(zip(people, rooms, strict=True)))
        )
        await asyncio.gather(
            *(
                wait_for_answer(p, r, q, bot_id, expected, timeout=60)
                for p, r, q in zip(people, rooms, questions, strict=True)
            )
        )
        return time.perf_counter() - started
    finally:
        for person in people:
            await person.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def rss_after_conversations(stack: BenchStack, conversations: int = 1000) -> tuple[float, float]:
    """(d): the bot's RSS before and after `conversations` people each talk to it once."""
    synapse = stack.synapse
    assert stack.bot.process is not None
    pid = stack.bot.process.pid
    before = rss_mb(pid)
    room_alias = f"#public:{synapse.server_name}"
    semaphore = asyncio.Semaphore(8)
    answered = 0
    async with aiohttp.ClientSession() as session:
        watcher = await MatrixUser.register(synapse, "watcher")
        room_id = await watcher.join(room_alias)

        async def one(i: int) -> None:
            async with semaphore:
                reg = await register_user(
                    session, synapse.url, synapse.shared_secret, f"conv{i}", "pw-bench-12345"
                )
                auth = {"Authorization": f"Bearer {reg.access_token}"}
                base = f"{synapse.url}/_matrix/client/v3"
                async with session.post(f"{base}/join/{room_id}", json={}, headers=auth) as r:
                    assert r.status == 200, await r.text()
                async with session.put(
                    f"{base}/rooms/{room_id}/send/m.room.message/bench{i}",
                    json={"msgtype": "m.text", "body": f"@bot hello from {i}"},
                    headers=auth,
                ) as r:
                    assert r.status == 200, await r.text()

        await asyncio.gather(*(one(i) for i in range(conversations)))
        deadline = time.monotonic() + 600
        while answered < conversations and time.monotonic() < deadline:
            answered = await _count_answers(session, synapse, watcher, room_id)
        await watcher.close()
    if answered < conversations:
        raise RuntimeError(f"only {answered} of {conversations} conversations were answered")
    return before, rss_mb(pid)


async def _count_answers(
    session: aiohttp.ClientSession, synapse: SynapseServer, reader: MatrixUser, room_id: str
) -> int:
    """Distinct questions the bot has replied to in the room, read back through /messages."""
    await asyncio.sleep(1)  # poll interval of the benchmark, not a test wait
    url = f"{synapse.url}/_matrix/client/v3/rooms/{room_id}/messages"
    auth = {"Authorization": f"Bearer {reader.client.access_token}"}
    answered: set[str] = set()
    token = None
    while True:
        params = {"dir": "b", "limit": "1000", **({"from": token} if token else {})}
        async with session.get(url, params=params, headers=auth) as response:
            page = await response.json()
        for event in page.get("chunk", []):
            parent = event.get("content", {}).get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
            if event.get("sender") == synapse.provisioned.bot_user_id and parent:
                answered.add(parent)
        token = page.get("end")
        if not page.get("chunk") or not token:
            return len(answered)
