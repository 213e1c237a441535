"""The model side: streams answers through LangChain's ChatOllama, and knows which
models Ollama has and what they can do."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import ollama
from langchain_core.messages import BaseMessage
from langchain_ollama import ChatOllama

log = logging.getLogger(__name__)

CAPABILITY_TTL_S = 300.0


class ModelUnavailable(Exception):
    """Ollama could not be reached, timed out, or failed to answer."""


class ModelMissing(ModelUnavailable):
    """Ollama answered, but does not have the requested model."""

    def __init__(self, model: str) -> None:
        super().__init__(f"model {model!r} not found")
        self.model = model


def _translate(error: Exception, model: str) -> ModelUnavailable:
    if isinstance(error, ollama.ResponseError) and error.status_code == 404:
        return ModelMissing(model)
    log.warning("model call failed: %s: %s", type(error).__name__, error)
    return ModelUnavailable(f"{type(error).__name__}: {error}")


class Assistant:
    def __init__(self, base_url: str, timeout: float) -> None:
        self._base_url = base_url
        self._timeout = timeout
        self._models: dict[str, ChatOllama] = {}

    def _chat_model(self, model: str) -> ChatOllama:
        # One client per model keeps HTTP connections to Ollama alive between answers.
        if model not in self._models:
            self._models[model] = ChatOllama(
                model=model, base_url=self._base_url, client_kwargs={"timeout": self._timeout}
            )
        return self._models[model]

    async def stream(self, messages: list[BaseMessage], model: str) -> AsyncIterator[str]:
        """Yield the answer's text as it arrives."""
        try:
            async for chunk in self._chat_model(model).astream(messages):
                if chunk.text:
                    yield chunk.text
        except Exception as error:  # any transport or server failure ends this answer
            raise _translate(error, model) from error


class ModelCatalogue:
    """The models Ollama has (`/api/tags`) and whether each sees images (`/api/show`)."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self._client = ollama.AsyncClient(host=base_url, timeout=timeout)
        self._vision: dict[str, tuple[float, bool]] = {}

    async def names(self) -> list[str]:
        try:
            listed = await self._client.list()
        except Exception as error:
            raise _translate(error, "") from error
        return sorted(str(m.model) for m in listed.models if m.model)

    async def supports_vision(self, model: str) -> bool:
        cached = self._vision.get(model)
        if cached and time.monotonic() - cached[0] < CAPABILITY_TTL_S:
            return cached[1]
        try:
            shown = await self._client.show(model)
        except Exception as error:
            raise _translate(error, model) from error
        vision = "vision" in (shown.capabilities or [])
        self._vision[model] = (time.monotonic(), vision)
        return vision

    async def vision_models(self) -> list[str]:
        return [name for name in await self.names() if await self.supports_vision(name)]
