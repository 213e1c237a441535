"""The model side: turns a question into an answer through LangChain's ChatOllama."""

from __future__ import annotations

import logging

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_ollama import ChatOllama

log = logging.getLogger(__name__)


class ModelUnavailable(Exception):
    """Ollama could not be reached, timed out, or failed to answer."""


class Assistant:
    def __init__(self, base_url: str, default_model: str, system_prompt: str, timeout: float) -> None:
        self._base_url = base_url
        self._default_model = default_model
        self._system_prompt = system_prompt
        self._timeout = timeout
        self._models: dict[str, ChatOllama] = {}

    def _chat_model(self, model: str) -> ChatOllama:
        # One client per model keeps HTTP connections to Ollama alive between answers.
        if model not in self._models:
            self._models[model] = ChatOllama(
                model=model, base_url=self._base_url, client_kwargs={"timeout": self._timeout}
            )
        return self._models[model]

    def build_messages(self, question: str) -> list[BaseMessage]:
        return [SystemMessage(self._system_prompt), HumanMessage(question)]

    async def answer(self, question: str, model: str | None = None) -> str:
        try:
            reply = await self._chat_model(model or self._default_model).ainvoke(
                self.build_messages(question)
            )
        except Exception as error:  # any transport or server failure means "unavailable"
            log.warning("model call failed: %s: %s", type(error).__name__, error)
            raise ModelUnavailable(str(error)) from error
        return str(reply.text)
