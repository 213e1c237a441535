"""The fair queue in front of the model tier, with servers whose state the test sets: a
server with the model and the fewest requests gets the next one, people take turns, each
waiting question knows its place, and a lost server fails only those it stranded."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from bot.fair_queue import FairQueue, Ticket
from common.ollama_catalogue import ModelMissing, OllamaUnavailable
from common.ollama_servers import OllamaServer, OllamaServers

LLAMA, LLAVA = "llama3:latest", "llava:latest"


def _servers(*models: set[str], parallel: int = 1) -> tuple[OllamaServers, FairQueue]:
    servers = OllamaServers(tuple(f"http://127.0.0.{i + 2}:11434" for i in range(len(models))), timeout=1)
    for server, names in zip(servers.servers, models, strict=True):
        server.models, server.checked_at = frozenset(names), time.monotonic()

    async def as_the_test_set_it(server: OllamaServer) -> None:  # no network in this unit test
        server.checked_at = time.monotonic()

    servers._check = as_the_test_set_it  # type: ignore[method-assign]
    return servers, FairQueue(servers, parallel)


class Held:
    """Questions holding their place in the queue until the test lets them go."""

    def __init__(self, queue: FairQueue) -> None:
        self.queue = queue
        self.granted: dict[str, OllamaServer] = {}
        self._release: dict[str, asyncio.Event] = {}
        self.tasks: list[asyncio.Task[None]] = []

    def ask(self, name: str, person: str, model: str = LLAMA, room: str = "") -> Ticket:
        ticket = Ticket(person, model, room=room)
        self._release[name] = asyncio.Event()
        self.tasks.append(asyncio.create_task(self._hold(name, ticket)))
        return ticket

    async def _hold(self, name: str, ticket: Ticket) -> None:
        async with self.queue.slot(ticket) as server:
            self.granted[name] = server
            await self._release[name].wait()

    def release(self, name: str) -> None:
        self._release[name].set()

    async def settle(self) -> None:
        for _ in range(10):
            await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def held(queue: FairQueue) -> AsyncIterator[Held]:
    questions = Held(queue)
    try:
        yield questions
    finally:
        for task in questions.tasks:
            task.cancel()


async def test_the_server_with_the_model_and_fewest_requests_gets_the_next_one() -> None:
    servers, queue = _servers({LLAMA}, {LLAMA, LLAVA}, parallel=2)
    async with held(queue) as questions:
        questions.ask("a", "@alice")
        questions.ask("b", "@bob")
        questions.ask("c", "@carol", LLAVA)
        await questions.settle()
    first, second = servers.servers
    assert questions.granted["a"] is first and questions.granted["b"] is second  # spread out
    assert questions.granted["c"] is second  # only the second has llava


async def test_people_take_turns_and_each_question_knows_its_place() -> None:
    _, queue = _servers({LLAMA}, parallel=1)
    async with held(queue) as questions:
        questions.ask("busy", "@zed")
        floods = [questions.ask(f"flood{i}", "@alice") for i in range(3)]
        single = questions.ask("single", "@bob")
        await questions.settle()
        assert [t.ahead for t in floods] == [0, 2, 3] and single.ahead == 1  # Bob goes second
        order = []
        for name in ["busy", "flood0", "single", "flood1", "flood2"]:
            assert name in questions.granted, (name, order)
            order.append(name)
            questions.release(name)
            await questions.settle()
        assert order == ["busy", "flood0", "single", "flood1", "flood2"]


async def test_a_quiet_room_does_not_wait_behind_a_busy_room() -> None:
    _, queue = _servers({LLAMA}, parallel=1)
    async with held(queue) as questions:
        questions.ask("busy", "@zed", room="!busy")
        crowd = [questions.ask(f"crowd{i}", f"@member{i}", room="!busy") for i in range(5)]
        quiet = questions.ask("quiet", "@alone", room="!quiet")
        await questions.settle()
        # The busy room has had its turn (the question being answered): the quiet room is next.
        assert quiet.ahead == 0 and [t.ahead for t in crowd] == [1, 2, 3, 4, 5]


async def test_one_person_asking_across_many_rooms_still_takes_one_turn_at_a_time() -> None:
    """A flood spread over several direct chats is still one person's flood."""
    _, queue = _servers({LLAMA}, parallel=1)
    async with held(queue) as questions:
        questions.ask("busy", "@alice", room="!dm0")
        floods = [questions.ask(f"flood{i}", "@alice", room=f"!dm{i}") for i in range(1, 4)]
        single = questions.ask("single", "@bob", room="!bob")
        await questions.settle()
        assert single.ahead == 0 and [t.ahead for t in floods] == [1, 2, 3]


async def test_someone_served_once_asks_again_after_those_still_waiting_for_their_first() -> None:
    _, queue = _servers({LLAMA}, parallel=1)
    async with held(queue) as questions:
        questions.ask("a0", "@alice")
        questions.ask("a1", "@alice")
        questions.ask("a2", "@alice")
        for name in ["n0", "n1"]:
            questions.ask(name, f"@{name}")
        await questions.settle()
        order = ["a0"]
        while len(order) < 6:
            questions.release(order[-1])
            await questions.settle()
            if order[-1] == "n0":  # n0 has had an answer and asks again
                questions.ask("n0 again", "@n0")
                await questions.settle()
            order.append(next(name for name in questions.granted if name not in order))
        # Alice's second waits for those who had nothing yet, then goes before n0's second,
        # which came later from someone who has also had one answer.
        assert order == ["a0", "n0", "n1", "a1", "n0 again", "a2"], order


async def test_a_model_no_server_has_is_refused_at_once() -> None:
    servers, queue = _servers({LLAMA})
    with pytest.raises(ModelMissing):
        async with queue.slot(Ticket("@alice", "mistral:latest")):
            pass
    servers.mark_down(servers.servers[0], "stopped")
    with pytest.raises(OllamaUnavailable):
        async with queue.slot(Ticket("@alice", LLAMA)):
            pass


async def test_a_lost_server_fails_only_the_questions_it_stranded() -> None:
    servers, queue = _servers({LLAMA}, {LLAVA}, parallel=1)
    async with held(queue) as questions:
        questions.ask("llama busy", "@a")
        questions.ask("llava busy", "@b", LLAVA)
        waiting_llama = questions.ask("llama waits", "@c")
        questions.ask("llava waits", "@d", LLAVA)
        await questions.settle()
        servers.mark_down(servers.servers[0], "stopped")
        queue.server_lost()
        await questions.settle()
        stranded = questions.tasks[2]
        assert stranded.done() and isinstance(stranded.exception(), OllamaUnavailable)
        assert not questions.tasks[3].done()  # llava's server is still there
        assert waiting_llama.ahead == 0
        questions.release("llava busy")
        await questions.settle()
        assert "llava waits" in questions.granted


async def test_a_question_that_gives_up_leaves_its_place() -> None:
    _, queue = _servers({LLAMA}, parallel=1)
    async with held(queue) as questions:
        questions.ask("busy", "@a")
        questions.ask("impatient", "@b")
        patient = questions.ask("patient", "@c")
        await questions.settle()
        assert patient.ahead == 1
        questions.tasks[1].cancel()
        await questions.settle()
        assert patient.ahead == 0 and queue.waiting == 1
