"""Write a model's answer into one Matrix message: wait for a place in the model tier
(the fair queue), stream the words in as throttled edits (shaped by the caller), and
when a server fails, leave it out and write the answer again on another that has the
model. Failures of the model tier become one plain notice in the same message.

Used by ordinary answers (`bot.answering`) and catch-up summaries (`bot.summary.summarizer`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn

from langchain_core.messages import BaseMessage

from appdb.usage import Spent
from bot import strings
from bot.fair_queue import FairQueue, Ticket
from bot.formatting import strip_reasoning
from bot.matrix_io import MatrixIO
from bot.ollama_chat import (
    Assistant,
    ModelCannotChat,
    ModelMissing,
    ModelUnavailable,
    OllamaRefused,
    ServerUnreachable,
)
from bot.streaming import StreamingReply
from bot.values import ReplyTarget
from bot.wait_notices import say_if_loading, show_place, typing_until_words
from common.ollama_servers import OllamaServer, OllamaServers

log = logging.getLogger(__name__)


def as_is(text: str) -> str:
    return text


@dataclass
class Written:
    """One attempt at writing the answer, as far as it got."""

    raw: str = ""
    stopped_at_length: bool = False
    spent: Spent = field(default_factory=Spent)

    @property
    def visible(self) -> str:
        return strip_reasoning(self.raw)


class ModelWriter:
    def __init__(
        self,
        assistant: Assistant,
        matrix: MatrixIO,
        servers: OllamaServers,
        queue: FairQueue,
        default_model: str,
    ) -> None:
        self._assistant = assistant
        self._matrix = matrix
        self._servers = servers
        self._queue = queue
        self._default_model = default_model

    async def write(
        self,
        target: ReplyTarget,
        reply: StreamingReply,
        model: str,
        prompt: list[BaseMessage],
        shape: Callable[[str], str] = as_is,
    ) -> Written | None:
        """The answer, streamed into `reply` as `shape` makes it look (the caller finishes
        the message); None when it ended with a notice instead, shown in `reply`."""
        try:
            return await self._write(target, reply, model, prompt, shape)
        except Interrupted:
            return None  # shown as cut short
        except ModelUnavailable as failure:
            await reply.finish(self.failure_text(failure), notice=True)
            return None

    async def collect(self, target: ReplyTarget, model: str, prompt: list[BaseMessage]) -> Written:
        """The whole answer, shown to nobody (a part of a long summary). Raises the model
        tier's failures (ModelUnavailable and its kinds)."""
        written = Written()
        async with self._queue.slot(Ticket(target.asker, model, room=target.room_id)) as server:
            try:
                async for piece in self._assistant.stream(server, prompt, model):
                    written.raw += piece.text
                    if piece.tokens_in or piece.tokens_out or piece.model_ms:
                        written.spent = Spent(piece.tokens_in, piece.tokens_out, piece.model_ms)
            except ServerUnreachable as error:
                self._servers.mark_down(server, str(error))
                self._queue.server_lost()
                raise
        return written

    def failure_text(self, failure: ModelUnavailable) -> str:
        """What to tell the person when the model tier fails them."""
        if isinstance(failure, ModelMissing):
            return self._missing_text(failure.model)
        if isinstance(failure, ModelCannotChat):
            return strings.MODEL_CANNOT_CHAT.format(model=failure.model)
        if isinstance(failure, OllamaRefused):
            return strings.AI_REFUSED.format(reason=failure.reason)
        if isinstance(failure, ServerUnreachable) or not self._servers.up:  # none answers
            return strings.AI_NOT_RUNNING.format(urls=", ".join(s.url for s in self._servers.servers))
        return strings.AI_UNAVAILABLE

    def _missing_text(self, model: str) -> str:
        if model == self._default_model:  # a fresh install: the model was never pulled
            urls = ", ".join(s.url for s in self._servers.servers)
            return strings.MODEL_NOT_PULLED.format(
                urls=urls, model=model, short=model.removesuffix(":latest")
            )
        return strings.MODEL_MISSING.format(model=model)

    async def _write(
        self,
        target: ReplyTarget,
        reply: StreamingReply,
        model: str,
        prompt: list[BaseMessage],
        shape: Callable[[str], str],
    ) -> Written:
        tried: set[str] = set()
        while True:
            ticket = Ticket(target.asker, model, room=target.room_id, avoid=frozenset(tried))
            place = asyncio.create_task(show_place(reply, ticket))
            try:
                async with self._queue.slot(ticket) as server:
                    place.cancel()
                    tried.add(server.url)
                    try:
                        return await self._write_on(server, target, reply, model, prompt, shape)
                    except _ServerLost as lost:
                        self._servers.mark_down(server, str(lost.error))
                        self._queue.server_lost()
                        others = [s for s in self._servers.up if s.has(model) and s.url not in tried]
                        if not others:
                            await self._give_up(reply, lost)
                        log.info("answering %s again on another server", target.event_id)
            finally:
                place.cancel()

    async def _give_up(self, reply: StreamingReply, lost: _ServerLost) -> NoReturn:
        if lost.partial:  # show what arrived, say it was cut, and store nothing
            await reply.finish(f"{lost.partial}\n\n{strings.ANSWER_INTERRUPTED}")
            raise Interrupted from lost.error
        raise lost.error

    async def _write_on(
        self,
        server: OllamaServer,
        target: ReplyTarget,
        reply: StreamingReply,
        model: str,
        prompt: list[BaseMessage],
        shape: Callable[[str], str],
    ) -> Written:
        written = Written()
        words = asyncio.Event()
        loading = asyncio.create_task(
            say_if_loading(reply, model, lambda: self._assistant.is_loaded(server, model))
        )

        async def typing(on: bool) -> None:
            await self._matrix.typing(target.room_id, on)

        try:
            async with typing_until_words(typing, words):
                async for piece in self._assistant.stream(server, prompt, model):
                    if piece.tokens_in or piece.tokens_out or piece.model_ms:
                        written.spent = Spent(piece.tokens_in, piece.tokens_out, piece.model_ms)
                    if not piece.text and not piece.stopped_at_length:
                        continue  # the closing line: what the answer cost, no words
                    words.set()
                    loading.cancel()
                    written.raw += piece.text
                    written.stopped_at_length = written.stopped_at_length or piece.stopped_at_length
                    visible = strip_reasoning(written.raw, streaming=True)
                    await reply.update(shape(visible) if visible else visible)
        except ServerUnreachable as error:
            raise _ServerLost(error, shape(written.visible) if written.visible else "") from error
        except ModelUnavailable:
            if not written.visible:
                raise
            # Show what arrived, say it was cut, and store nothing: a half turn is not memory.
            await reply.finish(f"{shape(written.visible)}\n\n{strings.ANSWER_INTERRUPTED}")
            raise Interrupted from None
        finally:
            loading.cancel()
        return written


class Interrupted(Exception):
    """The answer was cut short and shown as such: nothing more to do, nothing to store."""


class _ServerLost(Exception):
    """A server failed while writing; `partial` is what it had written that was visible."""

    def __init__(self, error: ServerUnreachable, partial: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.partial = partial
