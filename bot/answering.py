"""Answer one question: pick the user's model, check what it can see, load the window of
memory, stream the answer into Matrix, and store the turn once it is complete."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from appdb.conversations import ConversationStore
from bot import strings
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
)
from bot.prompt import ImageInput, build_prompt, cut_input, history_messages
from bot.streaming import EditThrottle, StreamingReply
from bot.values import MediaRef, ReplyTarget, txn_id
from common.model_choice import ModelChoice

log = logging.getLogger(__name__)

TYPING_REFRESH_S = 20.0
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
    max_answers_in_flight: int = 8


class Answerer:
    def __init__(
        self,
        settings: AnswerSettings,
        assistant: Assistant,
        catalogue: ModelCatalogue,
        memory: ConversationStore,
        models: ModelChoice,
        matrix: MatrixIO,
    ) -> None:
        self._settings = settings
        self._assistant = assistant
        self._catalogue = catalogue
        self._memory = memory
        self._models = models
        self._matrix = matrix
        # A global cap on model work in flight: beyond it, answers wait their turn (FIFO).
        self._model_slots = asyncio.Semaphore(settings.max_answers_in_flight)

    async def answer(
        self, target: ReplyTarget, question: str, image: MediaRef | None = None, *, resumed: bool = False
    ) -> None:
        question, was_cut = cut_input(question, self._settings.max_input_chars)
        if was_cut:
            limit = self._settings.max_input_chars
            await self._notice(target, strings.INPUT_CUT.format(limit=limit), "cut")
        if image is not None and not question:
            question = strings.DEFAULT_IMAGE_QUESTION
        model = await self._models.current(target.asker)
        async with self._model_slots, self._typing(target.room_id):
            try:
                image_input = await self._image_input(model, image) if image else None
                await self._stream(target, model, question, image_input, resumed)
            except ModelMissing as missing:
                await self._notice(target, strings.MODEL_MISSING.format(model=missing.model), "missing")
            except ModelCannotChat as cannot:
                await self._notice(
                    target, strings.MODEL_CANNOT_CHAT.format(model=cannot.model), "cannot-chat"
                )
            except OllamaRefused as refused:
                await self._notice(target, strings.AI_REFUSED.format(reason=refused.reason), "refused")
            except _CannotSee as refusal:
                await self._notice(target, str(refusal), "cannot-see")
            except ModelUnavailable:
                await self._notice(target, strings.AI_UNAVAILABLE, "unavailable")

    async def _stream(
        self, target: ReplyTarget, model: str, question: str, image: ImageInput | None, resumed: bool
    ) -> None:
        rows = await self._memory.recent(target.asker, target.room_id)
        prompt = build_prompt(
            self._settings.system_prompt,
            history_messages(rows),
            question,
            self._settings.max_context_tokens,
            image,
        )
        throttle = EditThrottle(self._settings.edit_interval_s, self._settings.max_edits)
        reply = StreamingReply(self._matrix, target, throttle, resumed=resumed)
        raw = ""
        stopped_at_length = False
        try:
            async for piece in self._assistant.stream(prompt, model):
                raw += piece.text
                stopped_at_length = stopped_at_length or piece.stopped_at_length
                await reply.update(strip_reasoning(raw, streaming=True))
        except ModelUnavailable:
            if reply.event_id is None:
                raise
            # Show what arrived, say it was cut, and store nothing: a half turn is not memory.
            await reply.finish(f"{strip_reasoning(raw)}\n\n{strings.ANSWER_INTERRUPTED}")
            return
        answer = strip_reasoning(raw)
        shown = f"{answer}\n\n{strings.ANSWER_AT_LENGTH_LIMIT}" if stopped_at_length else answer
        await reply.finish(shown or "…")
        stored_question = f"{IMAGE_MARK}{question}" if image else question
        await self._memory.append_turn(
            target.asker,
            target.room_id,
            stored_question,
            answer,
            also=EventLedger.completion(target.event_id),
        )
        log.info(
            "answered %s in %s with %s (%d edits)", target.event_id, target.room_id, model, reply.edits_sent
        )

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

    @contextlib.asynccontextmanager
    async def _typing(self, room_id: str):  # type: ignore[no-untyped-def]
        async def keep_typing() -> None:
            while True:
                with contextlib.suppress(Exception):
                    await self._matrix.typing(room_id, True)
                await asyncio.sleep(TYPING_REFRESH_S)

        refresher = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            refresher.cancel()
            with contextlib.suppress(Exception):
                await self._matrix.typing(room_id, False)


class _CannotSee(Exception):
    """The image cannot reach the model; the message says why."""
