"""Questions wait here for the model tier. Each Ollama server takes `per_server` requests
at a time; beyond that, questions wait in a fair queue, and a question goes to a server
that has its model and the fewest requests in flight.

Fair means start-time fair queuing (Goyal, Vin and Cheng, 1996) with a question as the
unit of work: each person's questions are numbered from the current turn on, so one
person's twenty questions are served one per turn beside everybody else's one, and a
newcomer never waits behind someone who has already been served more. Among people whose
turn it is, rooms are numbered the same way, so a quiet room's question does not wait
behind a busy room. The numbers are fixed when a question arrives, so each waiting
question knows its place (`Ticket.ahead`), which the bot shows when the wait is long."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from common.ollama_catalogue import ModelMissing, OllamaUnavailable
from common.ollama_servers import OllamaServer, OllamaServers

FORGET_AFTER = 1000  # parties remembered before those whose turns are all past are dropped


@dataclass(eq=False)
class Ticket:
    person: str
    model: str
    room: str = ""
    granted: asyncio.Future[OllamaServer] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    ahead: int = 0  # questions that will be served before this one
    avoid: frozenset[str] = frozenset()  # servers that failed this question already
    turn: tuple[int, int, int] = (0, 0, 0)  # (person's turn, room's turn, arrival): serving order


class FairQueue:
    def __init__(self, servers: OllamaServers, per_server: int) -> None:
        self._servers = servers
        self._per_server = per_server
        self._waiting: list[Ticket] = []  # in turn order
        self._people = _Turns()
        self._rooms = _Turns()
        self._arrivals = 0

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @contextlib.asynccontextmanager
    async def slot(self, ticket: Ticket) -> AsyncIterator[OllamaServer]:
        """Wait for a server with the ticket's model and a free place; hold it meanwhile.
        Raises ModelMissing when no server has the model, OllamaUnavailable when none is up."""
        if not await self._servers.with_model(ticket.model):
            if self._servers.up:
                raise ModelMissing(ticket.model)
            raise OllamaUnavailable(self._problems())
        self._arrivals += 1
        ticket.turn = (self._people.number(ticket.person), self._rooms.number(ticket.room), self._arrivals)
        bisect.insort(self._waiting, ticket, key=lambda waiting: waiting.turn)
        self._dispatch()
        try:
            server = await ticket.granted
        except asyncio.CancelledError:
            self._withdraw(ticket)
            raise
        try:
            yield server
        finally:
            server.in_flight -= 1
            self._dispatch()

    def server_lost(self) -> None:
        """A server went down: whoever waits for a model no server still has is told so."""
        for ticket in list(self._waiting):
            if not any(s.has(ticket.model) and s.url not in ticket.avoid for s in self._servers.up):
                self._withdraw(ticket)
                ticket.granted.set_exception(OllamaUnavailable(self._problems()))
        self._dispatch()

    def _dispatch(self) -> None:
        """Give free places out in turn order (skipping questions whose model has no free
        place), then tell everyone their place."""
        for ticket in list(self._waiting):
            if ticket.granted.done():  # its asker was cancelled and has not withdrawn yet
                self._waiting.remove(ticket)
                continue
            server = self._free_server(ticket)
            if server is None:
                continue
            self._waiting.remove(ticket)
            self._people.served(ticket.turn[0])
            self._rooms.served(ticket.turn[1])
            server.in_flight += 1
            ticket.granted.set_result(server)
        self._number_places()

    def _number_places(self) -> None:
        for place, ticket in enumerate(self._waiting):
            ticket.ahead = place

    def _free_server(self, ticket: Ticket) -> OllamaServer | None:
        free = [
            s
            for s in self._servers.up
            if s.has(ticket.model) and s.in_flight < self._per_server and s.url not in ticket.avoid
        ]
        return min(free, key=lambda s: s.in_flight) if free else None

    def _withdraw(self, ticket: Ticket) -> None:
        if ticket in self._waiting:
            self._waiting.remove(ticket)
            self._number_places()

    def _problems(self) -> str:
        return "; ".join(f"{s.url}: {s.problem or 'no such model'}" for s in self._servers.servers)


class _Turns:
    """Start-time fair numbering for one kind of party (people, or rooms): a party's next
    question takes the later of the current turn and the turn after its previous one."""

    def __init__(self) -> None:
        self._now = 0  # the turn of the question served last
        self._next: dict[str, int] = {}

    def number(self, party: str) -> int:
        turn = max(self._now, self._next.get(party, 0))
        self._next[party] = turn + 1
        return turn

    def served(self, turn: int) -> None:
        self._now = max(self._now, turn)
        if len(self._next) > FORGET_AFTER:  # a party whose turns are all past starts from now anyway
            self._next = {party: turn for party, turn in self._next.items() if turn > self._now}
