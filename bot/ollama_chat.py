"""The model side: streams an answer from one Ollama server through LangChain's
ChatOllama, with a time limit for the first token (a model may need a minute to load) and
a shorter one between tokens; warms models up and tells whether one is loaded."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_ollama import ChatOllama

from common.ollama_catalogue import (
    ModelCannotChat,
    ModelCatalogue,
    ModelMissing,
    OllamaRefused,
    OllamaUnavailable,
    translate_error,
)
from common.ollama_servers import OllamaServer

log = logging.getLogger(__name__)

# The bot speaks of the model being "unavailable"; the catalogue's errors are the same.
ModelUnavailable = OllamaUnavailable
KEEP_ALIVE = "30m"  # how long Ollama keeps a warmed-up model in memory


class ServerUnreachable(OllamaUnavailable):
    """The server did not answer at all (or the connection broke): try another one."""


class ModelTimedOut(OllamaUnavailable):
    """No token within the time limit."""


@dataclass(frozen=True)
class Piece:
    """A piece of the answer; the last one says whether the model stopped at its length limit."""

    text: str
    stopped_at_length: bool = False
    tokens_in: int = 0  # the last piece says what the answer cost, as Ollama counted it
    tokens_out: int = 0
    model_ms: int = 0


@dataclass(frozen=True)
class Timeouts:
    first_token_s: float  # until the first token: loading a model can take a while
    between_tokens_s: float  # once it writes


class Assistant:
    def __init__(self, timeouts: Timeouts, context_tokens: int) -> None:
        self._timeouts = timeouts
        self._context_tokens = context_tokens
        self._models: dict[tuple[str, str], ChatOllama] = {}

    def _chat_model(self, server: OllamaServer, model: str) -> ChatOllama:
        # One client per server and model keeps HTTP connections alive between answers.
        key = (server.url, model)
        if key not in self._models:
            self._models[key] = ChatOllama(
                model=model,
                base_url=server.url,
                # Ollama's own context must hold everything trim_messages kept.
                num_ctx=self._context_tokens,
                keep_alive=KEEP_ALIVE,
                # The limits are kept here, per token; the HTTP client only needs a last resort.
                client_kwargs={
                    "timeout": max(self._timeouts.first_token_s, self._timeouts.between_tokens_s) + 30
                },
            )
        return self._models[key]

    async def stream(
        self, server: OllamaServer, messages: list[BaseMessage], model: str
    ) -> AsyncIterator[Piece]:
        """Yield the answer as it arrives; raises ServerUnreachable, ModelTimedOut, or
        another OllamaUnavailable (ModelMissing, ModelCannotChat, OllamaRefused)."""
        chunks = aiter(self._chat_model(server, model).astream(messages))
        limit = self._timeouts.first_token_s
        try:
            while True:
                try:
                    chunk = await asyncio.wait_for(anext(chunks), limit)
                except StopAsyncIteration:
                    return
                limit = self._timeouts.between_tokens_s
                piece = _piece(chunk)
                if piece is not None:
                    yield piece
        except TimeoutError:
            raise ModelTimedOut(f"no token from {model} at {server.url} within {limit:.0f} s") from None
        except (httpx.TransportError, ConnectionError, OSError) as error:
            raise ServerUnreachable(f"{server.url}: {type(error).__name__}: {error}") from error
        except OllamaUnavailable:
            raise
        except Exception as error:  # any other failure of the server ends this answer
            raise translate_error(error, model) from error
        finally:
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await close()

    @staticmethod
    async def is_loaded(server: OllamaServer, model: str) -> bool:
        """Whether the server has `model` in memory now (`/api/ps`); True when it cannot tell."""
        try:
            running = await server.client.ps()
        except Exception:
            return True
        return any(m.model == model or m.name == model for m in running.models)

    @staticmethod
    async def warm_up(server: OllamaServer, model: str) -> bool:
        """Load `model` on `server` (an empty generate with keep_alive), so the first
        question after a start does not wait for it. False when it could not."""
        try:
            await server.client.generate(model=model, prompt="", keep_alive=KEEP_ALIVE)
        except Exception as error:
            log.warning("could not warm up %s at %s: %s", model, server.url, error)
            return False
        log.info("warmed up %s at %s", model, server.url)
        return True


def _piece(chunk: AIMessageChunk) -> Piece | None:
    metadata = chunk.response_metadata
    stopped = metadata.get("done_reason") == "length"
    usage: dict[str, Any] = dict(chunk.usage_metadata or {})
    duration_ns = metadata.get("total_duration")
    piece = Piece(
        chunk.text,
        stopped,
        int(usage.get("input_tokens") or 0),
        int(usage.get("output_tokens") or 0),
        int(duration_ns) // 1_000_000 if isinstance(duration_ns, int) else 0,
    )
    return piece if chunk.text or stopped or usage else None


__all__ = [
    "Assistant",
    "ModelCannotChat",
    "ModelCatalogue",
    "ModelMissing",
    "ModelTimedOut",
    "ModelUnavailable",
    "OllamaRefused",
    "Piece",
    "ServerUnreachable",
    "Timeouts",
]
