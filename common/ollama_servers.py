"""The model tier: the Ollama servers in `OLLAMA_BASE_URL` (one, or several separated by
commas), which of them answer, which models each has, and how many requests each is
working on. A server that fails is marked down and left out until a check finds it back.
The bot's fair queue picks servers from here; the catalogue and `/healthz` read it."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import ollama

log = logging.getLogger(__name__)

MODELS_TTL_S = 30.0  # how long a server's list of models is trusted
WATCH_EVERY_S = 10.0  # the background check, well within that: answers never wait for one


@dataclass
class OllamaServer:
    url: str
    client: ollama.AsyncClient
    up: bool = True
    in_flight: int = 0
    models: frozenset[str] = frozenset()
    checked_at: float = float("-inf")
    problem: str = ""  # why it is down, in a few words

    def has(self, model: str) -> bool:
        return model in self.models


@dataclass
class OllamaServers:
    urls: tuple[str, ...]
    timeout: float
    servers: list[OllamaServer] = field(init=False)

    def __post_init__(self) -> None:
        self.servers = [
            OllamaServer(url, ollama.AsyncClient(host=url, timeout=self.timeout)) for url in self.urls
        ]
        self._refreshing: asyncio.Lock | None = None

    @property
    def up(self) -> list[OllamaServer]:
        return [server for server in self.servers if server.up]

    async def refresh(self, *, force: bool = False) -> None:
        """Ask each server (whose list is old, or every one with `force`) which models it
        has; one that does not answer is marked down, one that answers again is back."""
        if self._refreshing is None:
            self._refreshing = asyncio.Lock()
        async with self._refreshing:
            now = time.monotonic()
            stale = [s for s in self.servers if force or now - s.checked_at >= MODELS_TTL_S]
            await asyncio.gather(*(self._check(server) for server in stale))

    async def _check(self, server: OllamaServer) -> None:
        try:
            listed = await server.client.list()
        except Exception as error:  # unreachable, timed out, or an answer that is no list
            self.mark_down(server, f"{type(error).__name__}: {error}")
            return
        if not server.up:
            log.info("Ollama at %s answers again", server.url)
        server.models = frozenset(str(m.model) for m in listed.models if m.model)
        server.up, server.problem, server.checked_at = True, "", time.monotonic()

    def mark_down(self, server: OllamaServer, problem: str) -> None:
        if server.up:
            log.warning("Ollama at %s is down (%s); leaving it out until it answers", server.url, problem)
        server.up, server.problem, server.checked_at = False, problem[:200], time.monotonic()

    async def with_model(self, model: str) -> list[OllamaServer]:
        """The servers that are up and have `model` (asking again once if none has)."""
        await self.refresh()
        found = [s for s in self.up if s.has(model)]
        if not found:
            await self.refresh(force=True)
            found = [s for s in self.up if s.has(model)]
        return found

    async def watch(self, every_s: float = WATCH_EVERY_S) -> None:
        """Keep the lists fresh and bring servers back: run as a background task."""
        while True:
            await self.refresh()
            await asyncio.sleep(every_s)
