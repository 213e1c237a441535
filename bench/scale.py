"""The model tier at scale (issue 13): people in public rooms, each asking `@bot` once at
the same moment, against a model tier that takes 1 s per answer and serves a few requests
at a time. One watcher per room (a member who asks nothing) sees every answer when the
askers' syncs do; the bot's memory is read from /proc."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

from nio import RoomCreateResponse, RoomPreset

from bench.answers import Answer, follow
from bench.measure import Distribution
from tests.matrix_user import Event, MatrixUser
from tests.synapse_server import SynapseServer


@dataclass(frozen=True)
class Room:
    alias_name: str  # what BOT_ROOMS takes
    room_id: str
    watcher: MatrixUser
    people: list[MatrixUser]


@dataclass(frozen=True)
class ScaleResult:
    answers: list[list[Answer]]  # per room, per person
    stored: list[list[float]]  # per room, when Synapse stored each question (s after the first)

    @property
    def asked(self) -> int:
        return sum(len(room) for room in self.answers)

    @property
    def complete(self) -> int:
        return sum(1 for room in self.answers for a in room if a.complete_seen is not None)

    @property
    def one_answer_each(self) -> bool:
        return all(a.answers == 1 for room in self.answers for a in room)

    @property
    def notices(self) -> int:
        return sum(a.notices for room in self.answers for a in room)

    @property
    def told_to_wait(self) -> int:
        return sum(1 for room in self.answers for a in room if a.told_to_wait)

    @property
    def waits(self) -> Distribution:
        return Distribution([a.first_seen for room in self.answers for a in room if a.first_seen is not None])

    @property
    def room_max_waits(self) -> list[float]:
        seen = [[a.first_seen for a in room if a.first_seen is not None] for room in self.answers]
        return [max(waits, default=float("nan")) for waits in seen]

    @property
    def room_last_stored(self) -> list[float]:
        return [max(room, default=float("nan")) for room in self.stored]

    @property
    def makespan(self) -> float:
        return max(a.complete_seen or 0.0 for room in self.answers for a in room)


async def make_rooms(synapse: SynapseServer, rooms: int, per_room: int) -> list[Room]:
    """Public rooms with an alias, each with a watcher and `per_room` people in it."""
    slots = asyncio.Semaphore(8)

    async def registered(prefix: str) -> MatrixUser:
        async with slots:
            return await MatrixUser.register(synapse, prefix)

    async def one(k: int) -> Room:
        watcher = await registered(f"watch{k}_")
        name = f"scale{k}-{uuid.uuid4().hex[:6]}"
        created = await watcher.client.room_create(alias=name, name=name, preset=RoomPreset.public_chat)
        assert isinstance(created, RoomCreateResponse), created
        people = list(await asyncio.gather(*(registered(f"room{k}_") for _ in range(per_room))))
        for person in people:
            await person.join(created.room_id)
        return Room(name, created.room_id, watcher, people)

    return list(await asyncio.gather(*(one(k) for k in range(rooms))))


async def ask_at_once(rooms: list[Room], bot_id: str, reply: str, timeout: float) -> ScaleResult:
    """Everyone asks at once; each room's watcher follows its answers until all are
    complete (or `timeout`)."""
    questions: list[list[str]] = [[] for _ in rooms]
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    watching = [
        asyncio.create_task(_watch(room, questions[k], bot_id, reply, deadline))
        for k, room in enumerate(rooms)
    ]

    async def ask(k: int, person: MatrixUser) -> None:
        questions[k].append(await person.send(rooms[k].room_id, f"@bot question from {person.user_id}"))

    # Person j of every room before person j + 1 of any: no room is first in line.
    most = max(len(room.people) for room in rooms)
    turns = [(k, room.people[j]) for j in range(most) for k, room in enumerate(rooms) if j < len(room.people)]
    await asyncio.gather(*(ask(k, person) for k, person in turns))
    seen = await asyncio.gather(*watching)
    since_start = [[(at - started, event) for at, event in events] for events in seen]
    answers = [follow(events, questions[k], bot_id, reply) for k, events in enumerate(since_start)]
    return ScaleResult(answers, _stored(seen, questions))


def _stored(seen: list[list[tuple[float, Event]]], questions: list[list[str]]) -> list[list[float]]:
    """When Synapse stored each room's questions (their `origin_server_ts`), from the first."""
    asked = {q for room in questions for q in room}
    stamps = [
        [int(e["origin_server_ts"]) for _, e in events if e.get("event_id") in asked] for events in seen
    ]
    first = min((ts for room in stamps for ts in room), default=0)
    return [[(ts - first) / 1000 for ts in room] for room in stamps]


async def _watch(
    room: Room, questions: list[str], bot_id: str, reply: str, deadline: float
) -> list[tuple[float, Event]]:
    """Every event of the room with when the watcher's sync brought it."""
    events: list[tuple[float, Event]] = []
    while time.monotonic() < deadline:
        response = await room.watcher.sync(timeout_ms=2000)
        now = time.perf_counter()
        joined = response.rooms.join.get(room.room_id)
        events += [(now, event.source) for event in (joined.timeline.events if joined else [])]
        if len(questions) == len(room.people) and _all_complete(events, questions, bot_id, reply):
            break
    return events


def _all_complete(events: list[tuple[float, Event]], questions: list[str], bot_id: str, reply: str) -> bool:
    return all(answer.complete_seen is not None for answer in follow(events, questions, bot_id, reply))


async def close(rooms: list[Room]) -> None:
    for room in rooms:
        for user in [room.watcher, *room.people]:
            await user.close()
