"""The model side: streams answers through LangChain's ChatOllama, and knows which
models Ollama has and what they can do."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from langchain_core.messages import BaseMessage
from langchain_ollama import ChatOllama

from common.ollama_catalogue import ModelCatalogue, ModelMissing, OllamaUnavailable, translate_error

log = logging.getLogger(__name__)

# The bot speaks of the model being "unavailable"; the catalogue's errors are the same.
ModelUnavailable = OllamaUnavailable


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
            raise translate_error(error, model) from error


__all__ = ["Assistant", "ModelCatalogue", "ModelMissing", "ModelUnavailable"]
