"""Answer one question: check the person may ask, pick their model and read their
memory (together), let the model writer stream the answer into one Matrix message
(`bot.model_writer`), and store the turn once it is complete, with the event marked
done and the usage counted in the same transaction."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from langchain_core.messages import BaseMessage
from sqlalchemy.ext.asyncio import AsyncSession

from appdb.answers import Answered, AnswerStore
from appdb.conversations import ConversationStore
from bot import strings
from bot.assistant_gate import AssistantGate
from bot.formatting import defuse_room_mentions
from bot.knowledge.lookup import KnowledgeLookup, RoomKnowledge
from bot.ledger import EventLedger
from bot.matrix_io import MatrixActionFailed, MatrixIO, MediaTooLarge
from bot.model_writer import ModelWriter, Written, as_is
from bot.ollama_chat import ModelCatalogue, ModelUnavailable
from bot.prompt import ImageInput, build_prompt, cut_input, history_messages
from bot.room.member import RoomSide, RoomView
from bot.streaming import EditThrottle, StreamingReply
from bot.values import MediaRef, ReplyTarget
from common.model_choice import ModelChoice

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


class Answerer:
    def __init__(
        self,
        settings: AnswerSettings,
        catalogue: ModelCatalogue,
        memory: ConversationStore,
        models: ModelChoice,
        matrix: MatrixIO,
        writer: ModelWriter,
        gate: AssistantGate,
        knowledge: KnowledgeLookup | None = None,
        room: RoomSide | None = None,
        answers: AnswerStore | None = None,
    ) -> None:
        self._settings = settings
        self._catalogue = catalogue
        self._memory = memory
        self._models = models
        self._matrix = matrix
        self._writer = writer
        self._gate = gate
        self._knowledge = knowledge
        self._room = room
        self._answers = answers

    async def answer(
        self, target: ReplyTarget, question: str, image: MediaRef | None = None, *, resumed: bool = False
    ) -> None:
        if (refusal := await self._gate.refusal(target.asker)) is not None:
            await self._matrix.notice(target, refusal, "refused")
            return
        question, was_cut = cut_input(question, self._settings.max_input_chars)
        if was_cut:
            limit = self._settings.max_input_chars
            await self._matrix.notice(target, strings.INPUT_CUT.format(limit=limit), "cut")
        if image is not None and not question:
            question = strings.DEFAULT_IMAGE_QUESTION
        context = await self.context(target, question)
        throttle = EditThrottle(self._settings.edit_interval_s, self._settings.max_edits)
        reply = StreamingReply(self._matrix, target, throttle, resumed=resumed)
        try:
            image_input = await self._image_input(context.model, image) if image else None
        except _CannotSee as refusal:
            await reply.finish(str(refusal), notice=True)
            return
        except ModelUnavailable as failure:
            await reply.finish(self._writer.failure_text(failure), notice=True)
            return
        prompt, shape = self.compose(context, question, image_input)
        written = await self._writer.write(target, reply, context.model, prompt, shape)
        if written is not None:  # else it ended with a notice; a half turn is not memory
            await self._remember(
                target, reply, question, written, image_input is not None, context.model, shape
            )

    async def context(self, target: ReplyTarget, question: str) -> AnswerContext:
        """The person's model and memory, the room's knowledge and the room itself, read together."""
        model, history, knowledge, room = await asyncio.gather(
            self._models.current(target.asker),
            self._memory.recent(target.asker, target.room_id),
            self._room_knowledge(target, question),
            self._room.for_answer(target) if self._room else _no_room(),
        )
        if isinstance(knowledge, str):  # a room chosen with `!use` that they left
            await self._matrix.notice(target, knowledge, "knowledge")
            knowledge = None
        return AnswerContext(model, history, knowledge, room)

    def compose(
        self, context: AnswerContext, question: str, image: ImageInput | None = None
    ) -> tuple[list[BaseMessage], Callable[[str], str]]:
        """The prompt, and how the answer is shown (its sources; never a ping of the room)."""
        knowledge, room = context.knowledge, context.room
        system = "\n\n".join(
            part
            for part in (
                self._settings.system_prompt,
                room.instructions,
                knowledge.instructions() if knowledge else "",
            )
            if part
        )
        asked = knowledge.question_for_model(question) if knowledge else question
        prompt = build_prompt(
            system,
            history_messages(context.history, room.said_before),
            room.question(asked),
            self._settings.max_context_tokens,
            image,
        )
        shown = knowledge.shape if knowledge else as_is

        def shape(text: str) -> str:  # whatever the model or a persona says, it pings nobody
            return defuse_room_mentions(shown(text))

        return prompt, shape

    async def _room_knowledge(self, target: ReplyTarget, question: str) -> RoomKnowledge | str | None:
        return await self._knowledge.for_question(target, question) if self._knowledge else None

    async def _remember(
        self,
        target: ReplyTarget,
        reply: StreamingReply,
        question: str,
        stream: Written,
        image: bool,
        model: str,
        shape: Callable[[str], str] = as_is,
    ) -> None:
        answer = stream.visible
        shown = f"{answer}\n\n{strings.ANSWER_AT_LENGTH_LIMIT}" if stream.stopped_at_length else answer
        shown = shape(shown)
        answer_id = await reply.finish(shown or "…")
        stored_question = f"{IMAGE_MARK}{question}" if image else question
        done = EventLedger.completion(target.event_id)
        counted = self._gate.count(target.asker, target.room_id, model, stream.spent)
        answered = Answered(
            answer_id,
            target.room_id,
            target.event_id,
            target.asker,
            target.thread_root,
            stored_question,
            answer,
            model,
            stream.stopped_at_length,
        )

        async def done_and_counted(session: AsyncSession) -> None:
            await done(session)
            await counted(session)
            if self._answers is not None:  # so a 🔁 or ⏩ on it can find its question
                await AnswerStore.recording(answered, int(time.time() * 1000))(session)

        await self._memory.append_turn(
            target.asker, target.room_id, stored_question, answer, also=done_and_counted
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


@dataclass(frozen=True)
class AnswerContext:
    model: str
    history: list[tuple[str, str]]
    knowledge: RoomKnowledge | None
    room: RoomView


async def _no_room() -> RoomView:
    return RoomView()


class _CannotSee(Exception):
    """The image cannot reach the model; the message says why."""
