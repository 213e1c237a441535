"""Reactions on the bot's answers: 🔁 answers the same question again and ⏩ continues an
answer that stopped at the model's length limit, both as edits of the same message (its
edit history keeps the earlier text), and only for the person who asked or a room
moderator; 👍 and 👎 are counted as feedback (per day and model, for the admins).
Reactions by anyone else, or on anything but an answer, are ignored."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from langchain_core.messages import AIMessage, HumanMessage
from sqlalchemy.ext.asyncio import AsyncSession

from appdb.answers import Answered, AnswerStore
from appdb.conversation_roles import AI, HUMAN
from bot import strings
from bot.answering import Answerer, AnswerSettings
from bot.assistant_gate import AssistantGate
from bot.matrix_io import MatrixIO
from bot.model_writer import ModelWriter, Written
from bot.routing import AGAIN, BAD, GO_ON, GOOD
from bot.streaming import EditThrottle, StreamingReply
from bot.values import ReplyTarget

log = logging.getLogger(__name__)

GO_ON_PROMPT = "Continue your last answer exactly where it stopped, without repeating any of it."


class Reactions:
    def __init__(
        self,
        settings: AnswerSettings,
        answers: AnswerStore,
        answerer: Answerer,
        writer: ModelWriter,
        matrix: MatrixIO,
        gate: AssistantGate,
    ) -> None:
        self._settings = settings
        self._answers = answers
        self._answerer = answerer
        self._writer = writer
        self._matrix = matrix
        self._gate = gate

    async def react(self, reaction: ReplyTarget, meaning: str, answer_event_id: str) -> None:
        """`reaction`: the reaction's room, event and sender; `meaning`: what it asks."""
        answered = await self._answers.find(answer_event_id)
        if answered is None or answered.room_id != reaction.room_id:
            return  # not one of the bot's answers (or one too old to remember)
        if meaning in (GOOD, BAD):
            await self._answers.rate(answered, reaction.asker, 1 if meaning == GOOD else -1)
            return
        if reaction.asker != answered.asker and not (
            await self._matrix.power(reaction.room_id)
        ).may_redact_others(reaction.asker):
            log.info("ignoring %s on %s by someone else", meaning, answer_event_id)
            return
        if meaning == AGAIN:
            await self._again(answered, reaction.event_id)
        elif meaning == GO_ON and answered.stopped_at_length:
            await self._go_on(answered, reaction.event_id)

    async def _again(self, answered: Answered, reaction_id: str) -> None:
        question_target = _question_of(answered)
        if (refusal := await self._gate.refusal(answered.asker)) is not None:
            await self._matrix.notice(question_target, refusal, "refused")
            return
        context = await self._answerer.context(question_target, answered.question)
        history = context.history
        if history[-2:] == [(HUMAN, answered.question), (AI, answered.answer)]:
            history = history[:-2]  # the turn being answered again
        context = type(context)(context.model, history, context.knowledge, context.room)
        prompt, shape = self._answerer.compose(context, answered.question)
        reply = self._reply(answered, reaction_id)
        written = await self._writer.write(question_target, reply, context.model, prompt, shape)
        if written is not None:
            await self._finish(answered, reply, written, written.visible, shape, context.model)

    async def _go_on(self, answered: Answered, reaction_id: str) -> None:
        question_target = _question_of(answered)
        if (refusal := await self._gate.refusal(answered.asker)) is not None:
            await self._matrix.notice(question_target, refusal, "refused")
            return
        context = await self._answerer.context(question_target, answered.question)
        prompt, shape = self._answerer.compose(context, answered.question)
        prompt = [*prompt, AIMessage(answered.answer), HumanMessage(GO_ON_PROMPT)]
        reply = self._reply(answered, reaction_id)

        def whole(more: str) -> str:
            return shape(f"{answered.answer}{_joined(answered.answer, more)}")

        written = await self._writer.write(question_target, reply, context.model, prompt, whole)
        if written is not None:
            text = f"{answered.answer}{_joined(answered.answer, written.visible)}"
            await self._finish(answered, reply, written, text, shape, context.model)

    def _reply(self, answered: Answered, reaction_id: str) -> StreamingReply:
        throttle = EditThrottle(self._settings.edit_interval_s, self._settings.max_edits)
        rewrite = (answered.answer_event_id, reaction_id)
        return StreamingReply(self._matrix, _question_of(answered), throttle, rewrite=rewrite)

    async def _finish(
        self,
        answered: Answered,
        reply: StreamingReply,
        written: Written,
        text: str,
        shape: Callable[[str], str],
        model: str,
    ) -> None:
        shown = f"{text}\n\n{strings.ANSWER_AT_LENGTH_LIMIT}" if written.stopped_at_length else text
        await reply.finish(shape(shown) or "…")
        counted = self._gate.count(answered.asker, answered.room_id, model, written.spent)
        updated = Answered(
            **{**vars(answered), "answer": text, "stopped_at_length": written.stopped_at_length}
        )

        async def counted_and_kept(session: AsyncSession) -> None:
            await counted(session)
            await AnswerStore.recording(updated, int(time.time() * 1000))(session)

        await self._answers.within(counted_and_kept)


def _question_of(answered: Answered) -> ReplyTarget:
    return ReplyTarget(answered.room_id, answered.question_event_id, answered.asker, answered.thread_root)


def _joined(before: str, more: str) -> str:
    """The continuation after the text it continues: a space before a word, unless either
    side already has one (a continuation starting with punctuation follows directly)."""
    if not more or not before or before[-1].isspace() or more[0].isspace() or not more[0].isalnum():
        return more
    return f" {more}"
