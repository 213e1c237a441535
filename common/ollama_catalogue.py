"""What the model tier offers: its chat models (`/api/tags` of every server that is up),
their size, and whether each can see images (`/api/show` capabilities). Shared by the
bot's `!models` and the portal."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import ollama

from common.ollama_servers import OllamaServers

log = logging.getLogger(__name__)

CAPABILITY_TTL_S = 300.0


class OllamaUnavailable(Exception):
    """Ollama could not be reached, timed out, or failed to answer."""


class ModelMissing(OllamaUnavailable):
    """Ollama answered, but does not have the requested model."""

    def __init__(self, model: str) -> None:
        super().__init__(f"model {model!r} not found")
        self.model = model


class ModelCannotChat(OllamaUnavailable):
    """Ollama has the model, but it cannot chat (an embedding-only model, say)."""

    def __init__(self, model: str) -> None:
        super().__init__(f"model {model!r} cannot chat")
        self.model = model


class OllamaRefused(OllamaUnavailable):
    """Ollama answered the request with a client error (HTTP 4xx) and its reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def translate_error(error: Exception, model: str) -> OllamaUnavailable:
    if isinstance(error, ollama.ResponseError):
        if error.status_code == 404:
            return ModelMissing(model)
        if error.status_code == 400 and "does not support chat" in str(error.error):
            return ModelCannotChat(model)
        if 400 <= error.status_code < 500:
            log.warning("Ollama refused the request: %s", error.error)
            return OllamaRefused(str(error.error)[:300])
    log.warning("Ollama call failed: %s: %s", type(error).__name__, error)
    return OllamaUnavailable(f"{type(error).__name__}: {error}")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    size_bytes: int
    vision: bool


class ModelCatalogue:
    """The chat models of the model tier (models that only make embeddings are left
    out), with what each can do, asked once per model every few minutes (`/api/show`)."""

    def __init__(self, servers: OllamaServers) -> None:
        self._servers = servers
        self._capabilities: dict[str, tuple[float, frozenset[str]]] = {}

    async def _listed(self) -> list[tuple[str, int]]:
        """(name, size) of every chat model on a server that is up, sorted by name."""
        await self._servers.refresh()
        if not self._servers.up:
            problems = "; ".join(f"{s.url}: {s.problem}" for s in self._servers.servers)
            raise OllamaUnavailable(problems or "no Ollama server")
        sizes: dict[str, int] = {}
        for server in self._servers.up:
            try:
                listed = await server.client.list()
            except Exception as error:
                self._servers.mark_down(server, f"{type(error).__name__}: {error}")
                continue
            for model in listed.models:
                if model.model:
                    sizes.setdefault(str(model.model), int(model.size or 0))
        return [(name, sizes[name]) for name in sorted(sizes) if await self._can_chat(name)]

    async def capabilities(self, model: str) -> frozenset[str]:
        cached = self._capabilities.get(model)
        if cached and time.monotonic() - cached[0] < CAPABILITY_TTL_S:
            return cached[1]
        servers = await self._servers.with_model(model) or self._servers.up
        if not servers:
            raise OllamaUnavailable("no Ollama server answers")
        try:
            shown = await servers[0].client.show(model)
        except Exception as error:
            raise translate_error(error, model) from error
        found = frozenset(shown.capabilities or [])
        self._capabilities[model] = (time.monotonic(), found)
        return found

    async def _can_chat(self, model: str) -> bool:
        found = await self.capabilities(model)
        return not found or "completion" in found  # an older Ollama names no capabilities

    async def names(self) -> list[str]:
        return [name for name, _ in await self._listed()]

    async def supports_vision(self, model: str) -> bool:
        return "vision" in await self.capabilities(model)

    async def vision_models(self) -> list[str]:
        return [name for name in await self.names() if await self.supports_vision(name)]

    async def describe(self) -> list[ModelInfo]:
        return [
            ModelInfo(name, size, await self.supports_vision(name)) for name, size in await self._listed()
        ]
