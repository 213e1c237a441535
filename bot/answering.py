"""Answer one question: pick the person's model and read their memory (together), wait
for a place in the model tier (the fair queue), stream the answer into one Matrix
message, and store the turn once it is complete. A server that fails before the answer
is complete is left out, and the answer is written again by another server."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncSession

from appdb.conversations import ConversationStore
from appdb.usage import Spent
from bot import strings
from bot.assistant_gate import AssistantGate
from bot.fair_queue import FairQueue, Ticket
from bot.formatting import strip_reasoning
from bot.ledger import EventLedger
from bot.matrix_io import MatrixActionFailed, MatrixIO, MediaTooLarge
from bot.ollama_chat import (
    Assistant,
    ModelCannotChat,
    ModelCatalogue,
    ModelMissing,
    ModelUnavailable,
    OllamaRefused,
    ServerUnreachable,
)
from bot.prompt import ImageInput, build_prompt, cut_input, history_messages
from bot.streaming import EditThrottle, StreamingReply
from bot.values import MediaRef, ReplyTarget, txn_id
from bot.wait_notices import say_if_loading, show_place, typing_until_words
from common.model_choice import ModelChoice
from common.ollama_servers import OllamaServer, OllamaServers

log = logging.getLogger(__name__)

IMAGE_MARK = "[image] "


@dataclass(frozen=True)
class AnswerSettings:
    system_prompt: str
    max_context_tokens: int
    max_input_chars: int
    edit_interval_s: float
    max_edits: int
    max_image_bytes: int = 20 * 1024 * 1024
    image_timeout_s: float = 30.0


@dataclass
class _Stream:
    """One attempt at writing the answer, as far as it got."""

    raw: str = ""
    stopped_at_length: bool = False
    spent: Spent = field(default_factory=Spent)

    @property
    def visible(self) -> str:
        return strip_reasoning(self.raw)


class Answerer:
    def __init__(
        self,
        settings: AnswerSettings,
        assistant: Assistant,
        catalogue: ModelCatalogue,
        memory: ConversationStore,
        models: ModelChoice,
        matrix: MatrixIO,
        servers: OllamaServers,
        queue: FairQueue,
        gate: AssistantGate,
    ) -> None:
        self._settings = settings
        self._assistant = assistant
        self._catalogue = catalogue
        self._memory = memory
        self._models = models
        self._matrix = matrix
        self._servers = servers
        self._queue = queue
        self._gate = gate

    async def answer(
        self, target: ReplyTarget, question: str, image: MediaRef | None = None, *, resumed: bool = False
    ) -> None:
        if (refusal := await self._gate.refusal(target.asker)) is not None:
            await self._notice(target, refusal, "refused")
            return
        question, was_cut = cut_input(question, self._settings.max_input_chars)
        if was_cut:
            limit = self._settings.max_input_chars
            await self._notice(target, strings.INPUT_CUT.format(limit=limit), "cut")
        if image is not None and not question:
            question = strings.DEFAULT_IMAGE_QUESTION
        model, history = await asyncio.gather(
            self._models.current(target.asker), self._memory.recent(target.asker, target.room_id)
        )
        throttle = EditThrottle(self._settings.edit_interval_s, self._settings.max_edits)
        reply = StreamingReply(self._matrix, target, throttle, resumed=resumed)
        try:
            image_input = await self._image_input(model, image) if image else None
            prompt = build_prompt(
                self._settings.system_prompt,
                history_messages(history),
                question,
                self._settings.max_context_tokens,
                image_input,
            )
            stream = await self._write(target, reply, model, prompt)
        except _Interrupted:
            return  # shown as cut short; a half turn is not memory
        except ModelMissing as missing:
            await reply.finish(self._missing_text(missing.model), notice=True)
        except ModelCannotChat as cannot:
            await reply.finish(strings.MODEL_CANNOT_CHAT.format(model=cannot.model), notice=True)
        except OllamaRefused as refused:
            await reply.finish(strings.AI_REFUSED.format(reason=refused.reason), notice=True)
        except _CannotSee as refusal:
            await reply.finish(str(refusal), notice=True)
        except ServerUnreachable:
            await reply.finish(self._not_running_text(), notice=True)
        except ModelUnavailable:
            await reply.finish(strings.AI_UNAVAILABLE, notice=True)
        else:
            await self._remember(target, reply, question, stream, image_input is not None, model)

    async def _write(self, target: ReplyTarget, reply: StreamingReply, model: str, prompt: list) -> _Stream:  # type: ignore[type-arg]
        """The answer written into `reply`; when a server fails, it is left out and the
        answer is written again by another that has the model, if one is up."""
        tried: set[str] = set()
        while True:
            ticket = Ticket(target.asker, model, room=target.room_id, avoid=frozenset(tried))
            place = asyncio.create_task(show_place(reply, ticket))
            try:
                async with self._queue.slot(ticket) as server:
                    place.cancel()
                    tried.add(server.url)
                    try:
                        return await self._write_on(server, target, reply, model, prompt)
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
            raise _Interrupted from lost.error
        raise lost.error

    async def _write_on(
        self,
        server: OllamaServer,
        target: ReplyTarget,
        reply: StreamingReply,
        model: str,
        prompt: list,  # type: ignore[type-arg]
    ) -> _Stream:
        stream = _Stream()
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
                        stream.spent = Spent(piece.tokens_in, piece.tokens_out, piece.model_ms)
                    if not piece.text and not piece.stopped_at_length:
                        continue  # the closing line: what the answer cost, no words
                    words.set()
                    loading.cancel()
                    stream.raw += piece.text
                    stream.stopped_at_length = stream.stopped_at_length or piece.stopped_at_length
                    await reply.update(strip_reasoning(stream.raw, streaming=True))
        except ServerUnreachable as error:
            raise _ServerLost(error, stream.visible) from error
        except ModelUnavailable:
            if not stream.visible:
                raise
            # Show what arrived, say it was cut, and store nothing: a half turn is not memory.
            await reply.finish(f"{stream.visible}\n\n{strings.ANSWER_INTERRUPTED}")
            raise _Interrupted from None
        finally:
            loading.cancel()
        return stream

    async def _remember(
        self,
        target: ReplyTarget,
        reply: StreamingReply,
        question: str,
        stream: _Stream,
        image: bool,
        model: str,
    ) -> None:
        answer = stream.visible
        shown = f"{answer}\n\n{strings.ANSWER_AT_LENGTH_LIMIT}" if stream.stopped_at_length else answer
        await reply.finish(shown or "…")
        stored_question = f"{IMAGE_MARK}{question}" if image else question
        done = EventLedger.completion(target.event_id)
        counted = self._gate.count(target.asker, target.room_id, model, stream.spent)

        async def done_and_counted(session: AsyncSession) -> None:
            await done(session)
            await counted(session)

        await self._memory.append_turn(
            target.asker, target.room_id, stored_question, answer, also=done_and_counted
        )
        log.info(
            "answered %s in %s with %s (%d edits)", target.event_id, target.room_id, model, reply.edits_sent
        )

    def _missing_text(self, model: str) -> str:
        if model == self._models.default_model:  # a fresh install: the model was never pulled
            urls = ", ".join(s.url for s in self._servers.servers)
            return strings.MODEL_NOT_PULLED.format(
                urls=urls, model=model, short=model.removesuffix(":latest")
            )
        return strings.MODEL_MISSING.format(model=model)

    def _not_running_text(self) -> str:
        return strings.AI_NOT_RUNNING.format(urls=", ".join(s.url for s in self._servers.servers))

    async def _image_input(self, model: str, image: MediaRef) -> ImageInput:
        if not await self._catalogue.supports_vision(model):
            vision = await self._catalogue.vision_models()
            hint = (
                strings.NO_VISION_SUGGEST.format(suggestion=vision[0]) if vision else strings.NO_VISION_NONE
            )
            raise _CannotSee(strings.NO_VISION.format(model=model) + hint)
        try:
            data = await self._matrix.download(
                image, self._settings.max_image_bytes, self._settings.image_timeout_s
            )
        except MediaTooLarge as error:
            raise _CannotSee(strings.IMAGE_TOO_LARGE.format(mb=error.limit // (1024 * 1024))) from error
        except MatrixActionFailed as error:
            log.warning("%s", error)
            raise _CannotSee(strings.IMAGE_UNREADABLE) from error
        return ImageInput(data, image.mimetype)

    async def _notice(self, target: ReplyTarget, text: str, kind: str) -> None:
        await self._matrix.send(
            target.room_id, target.reply(text, notice=True), txn_id(kind, target.event_id)
        )


class _CannotSee(Exception):
    """The image cannot reach the model; the message says why."""


class _Interrupted(Exception):
    """The answer was cut short and shown as such: nothing more to do, nothing to store."""


class _ServerLost(Exception):
    """A server failed while writing; `partial` is what it had written that was visible."""

    def __init__(self, error: ServerUnreachable, partial: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.partial = partial
