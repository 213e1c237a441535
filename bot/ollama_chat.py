"""The model side: streams answers through LangChain's ChatOllama, and knows which
models Ollama has and what they can do."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from langchain_core.messages import BaseMessage
from langchain_ollama import ChatOllama

from common.ollama_catalogue import (
    ModelCannotChat,
    ModelCatalogue,
    ModelMissing,
    OllamaRefused,
    OllamaUnavailable,
    translate_error,
)

log = logging.getLogger(__name__)

# The bot speaks of the model being "unavailable"; the catalogue's errors are the same.
ModelUnavailable = OllamaUnavailable


@dataclass(frozen=True)
class Piece:
    """A piece of the answer; the last one says whether the model stopped at its length limit."""

    text: str
    stopped_at_length: bool = False


class Assistant:
    def __init__(self, base_url: str, timeout: float, context_tokens: int) -> None:
        self._base_url = base_url
        self._timeout = timeout
        self._context_tokens = context_tokens
        self._models: dict[str, ChatOllama] = {}

    def _chat_model(self, model: str) -> ChatOllama:
        # One client per model keeps HTTP connections to Ollama alive between answers.
        if model not in self._models:
            self._models[model] = ChatOllama(
                model=model,
                base_url=self._base_url,
                # Ollama's own context must hold everything trim_messages kept.
                num_ctx=self._context_tokens,
                client_kwargs={"timeout": self._timeout},
            )
        return self._models[model]

    async def stream(self, messages: list[BaseMessage], model: str) -> AsyncIterator[Piece]:
        """Yield the answer as it arrives."""
        try:
            async for chunk in self._chat_model(model).astream(messages):
                stopped = chunk.response_metadata.get("done_reason") == "length"
                if chunk.text or stopped:
                    yield Piece(chunk.text, stopped)
        except Exception as error:  # any transport or server failure ends this answer
            raise translate_error(error, model) from error


__all__ = [
    "Assistant",
    "ModelCannotChat",
    "ModelCatalogue",
    "ModelMissing",
    "ModelUnavailable",
    "OllamaRefused",
    "Piece",
]
