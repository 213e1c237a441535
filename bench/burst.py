"""A burst (issue 13): people, each in a room of their own with a bot, ask at the same
moment; the makespan is the time from the sends until every answer is complete, as each
asker's own sync sees it. One way of measuring for our bot, the ideal bot and
ollamarama-matrix; only how the rooms are made differs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from nio import RoomCreateResponse, RoomPreset

from tests.matrix_user import Event, MatrixUser, open_direct_chat, wait_until_member
from tests.synapse_server import SynapseServer


@dataclass(frozen=True)
class BurstResult:
    asked: int
    answered: int
    last_answer_s: float | None  # until the last complete answer that came (None: none came)

    @property
    def makespan_s(self) -> float | None:
        """Until every answer was complete; None when some never came."""
        return self.last_answer_s if self.answered == self.asked else None


async def register_people(synapse: SynapseServer, count: int, prefix: str) -> list[MatrixUser]:
    return list(await asyncio.gather(*(MatrixUser.register(synapse, prefix) for _ in range(count))))


async def chats_with_our_bot(people: list[MatrixUser], bot_id: str) -> list[str]:
    """Each person's AI chat, as Element opens it; ready once the bot has greeted."""
    chats = await asyncio.gather(*(open_direct_chat(person, bot_id) for person in people))
    return [room_id for room_id, _greeting in chats]


async def chats_with(people: list[MatrixUser], bot_id: str) -> list[str]:
    """A direct chat with a bot that accepts invitations (the ideal bot); ready once it joined."""

    async def one(person: MatrixUser) -> str:
        created = await person.client.room_create(
            is_direct=True, invite=[bot_id], preset=RoomPreset.trusted_private_chat
        )
        assert isinstance(created, RoomCreateResponse), created
        await wait_until_member(person, created.room_id, bot_id)
        return created.room_id

    return list(await asyncio.gather(*(one(person) for person in people)))


async def rooms_of_their_own(people: list[MatrixUser]) -> list[str]:
    """A joinable room per person, for a bot that declines invitations and joins rooms
    from its config (ollamarama-matrix): the closest it has to a direct chat."""

    async def one(person: MatrixUser) -> str:
        created = await person.client.room_create(preset=RoomPreset.public_chat)
        assert isinstance(created, RoomCreateResponse), created
        return created.room_id

    return list(await asyncio.gather(*(one(person) for person in people)))


async def ask_at_once(
    people: list[MatrixUser],
    rooms: list[str],
    question: Callable[[int], str],
    complete: Callable[[Event], bool],
    timeout: float,
) -> BurstResult:
    """Everyone sends `question(i)` at the same moment; `complete` tells the event that
    shows a whole answer."""
    started = time.perf_counter()
    deadline = time.monotonic() + timeout

    async def one(i: int, person: MatrixUser, room_id: str) -> float | None:
        await person.send(room_id, question(i))
        return await _seen_at(person, room_id, complete, deadline)

    seen = await asyncio.gather(*(one(i, p, r) for i, (p, r) in enumerate(zip(people, rooms, strict=True))))
    done = [at - started for at in seen if at is not None]
    return BurstResult(len(people), len(done), max(done) if done else None)


async def _seen_at(
    person: MatrixUser, room_id: str, complete: Callable[[Event], bool], deadline: float
) -> float | None:
    try:
        await person.wait_for(room_id, complete, timeout=max(0.1, deadline - time.monotonic()))
    except TimeoutError:
        return None
    return time.perf_counter()


async def close(people: list[MatrixUser]) -> None:
    for person in people:
        await person.close()
