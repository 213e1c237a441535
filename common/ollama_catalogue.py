"""What Ollama offers: its models (`/api/tags`), their size, and whether each can see
images (`/api/show` capabilities). Shared by the bot's `!models` and the portal."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import ollama

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
    """Ollama's chat models (models that only make embeddings are left out), with what
    each can do, asked once per model every few minutes (`/api/show`)."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self._client = ollama.AsyncClient(host=base_url, timeout=timeout)
        self._capabilities: dict[str, tuple[float, frozenset[str]]] = {}

    async def _listed(self) -> list[ollama.ListResponse.Model]:
        try:
            listed = [m for m in (await self._client.list()).models if m.model]
        except Exception as error:
            raise translate_error(error, "") from error
        chat_models = [m for m in listed if await self._can_chat(str(m.model))]
        return sorted(chat_models, key=lambda m: str(m.model))

    async def capabilities(self, model: str) -> frozenset[str]:
        cached = self._capabilities.get(model)
        if cached and time.monotonic() - cached[0] < CAPABILITY_TTL_S:
            return cached[1]
        try:
            shown = await self._client.show(model)
        except Exception as error:
            raise translate_error(error, model) from error
        found = frozenset(shown.capabilities or [])
        self._capabilities[model] = (time.monotonic(), found)
        return found

    async def _can_chat(self, model: str) -> bool:
        found = await self.capabilities(model)
        return not found or "completion" in found  # an older Ollama names no capabilities

    async def names(self) -> list[str]:
        return [str(m.model) for m in await self._listed()]

    async def supports_vision(self, model: str) -> bool:
        return "vision" in await self.capabilities(model)

    async def vision_models(self) -> list[str]:
        return [name for name in await self.names() if await self.supports_vision(name)]

    async def describe(self) -> list[ModelInfo]:
        return [
            ModelInfo(str(m.model), int(m.size or 0), await self.supports_vision(str(m.model)))
            for m in await self._listed()
        ]
