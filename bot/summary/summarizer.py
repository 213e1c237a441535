"""Catch-up summaries (`!summary`, `@bot summarize`, `@bot what did I miss`): read the
span the person asked for, as far as they could read it themselves, and have their
model summarize it as quoted data. A span too long for the context is summarized in
parts (with the progress shown in the summary's own message) and the parts combined.
The summary streams like an answer, links each point to its messages, notifies nobody,
and counts against the person's quota; it is not part of their conversation memory."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from nio import AsyncClient

from appdb.usage import Spent
from bot import strings
from bot.assistant_gate import AssistantGate
from bot.ledger import EventLedger
from bot.matrix_io import MatrixActionFailed, MatrixIO
from bot.model_writer import ModelWriter
from bot.ollama_chat import ModelUnavailable
from bot.streaming import EditThrottle, StreamingReply
from bot.summary.prompt import (
    Quoted,
    budget_for_transcript,
    combine_prompt,
    render_summary,
    speaker_name,
    split_into_parts,
    summary_prompt,
    transcript_line,
)
from bot.summary.request import (
    SummaryRequest,
    SummaryRequestError,
    catch_up_request,
    is_catch_up_phrase,
    parse_summary_request,
)
from bot.summary.source import HistoryUnavailable, RoomHistory, Span, Where
from bot.values import ReplyTarget
from common.matrix_ids import permalink, server_of
from common.model_choice import ModelChoice

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SummarySettings:
    max_context_tokens: int
    edit_interval_s: float
    max_edits: int


class Summarizer:
    def __init__(
        self,
        settings: SummarySettings,
        history: RoomHistory,
        names: NameBook,
        models: ModelChoice,
        matrix: MatrixIO,
        writer: ModelWriter,
        gate: AssistantGate,
        ledger: EventLedger,
        bot_user_id: str,
    ) -> None:
        self._settings = settings
        self._history = history
        self._names = names
        self._models = models
        self._matrix = matrix
        self._writer = writer
        self._gate = gate
        self._ledger = ledger
        self._bot = bot_user_id

    async def summarize(
        self, target: ReplyTarget, argument: str, asked_ms: int, *, resumed: bool = False
    ) -> None:
        if (refusal := await self._gate.refusal(target.asker)) is not None:
            await self._matrix.notice(target, refusal, "refused")
            return
        request = (
            catch_up_request() if is_catch_up_phrase(argument) else parse_request(argument, asked_ms, target)
        )
        if isinstance(request, SummaryRequestError):
            await self._matrix.notice(target, request.message, "summary-usage")
            return
        where = Where(target.room_id, target.event_id, target.asker, self._bot, target.thread_root)
        try:
            span = await self._history.span(where, request)
        except HistoryUnavailable as error:
            raise MatrixActionFailed(str(error), permanent=False) from error
        if not span.messages:
            await self._matrix.notice(target, nothing_text(request, span), "summary-empty")
            return
        model = await self._models.current(target.asker)
        throttle = EditThrottle(self._settings.edit_interval_s, self._settings.max_edits)
        reply = StreamingReply(self._matrix, target, throttle, resumed=resumed)
        await self._write(target, reply, model, request, span)

    async def _write(
        self, target: ReplyTarget, reply: StreamingReply, model: str, request: SummaryRequest, span: Span
    ) -> None:
        quoted = [
            Quoted(n, said.event_id, self._names.name(target.room_id, said.sender), said.ts_ms, said.text)
            for n, said in enumerate(span.messages, 1)
        ]
        parts = split_into_parts(
            [transcript_line(q) for q in quoted], budget_for_transcript(self._settings.max_context_tokens)
        )
        spent = Spent()
        try:
            if len(parts) == 1:
                prompt = summary_prompt(request.span, parts[0])
            else:
                summaries, spent = await self._summarize_parts(
                    target, reply, model, request, parts, len(quoted)
                )
                prompt = combine_prompt(request.span, summaries)
        except ModelUnavailable as failure:
            await reply.finish(self._writer.failure_text(failure), notice=True)
            return
        by_number = {q.number: q for q in quoted}
        server = server_of(target.asker)

        def shape(text: str) -> str:
            link = lambda q: permalink(target.room_id, q.event_id, server)  # noqa: E731
            return render_summary(text, by_number, link, heading_text(request, span))

        written = await self._writer.write(target, reply, model, prompt, shape)
        if written is None:
            return  # ended with a notice
        await reply.finish(shape(written.visible) or heading_text(request, span))
        counted = self._gate.count(target.asker, target.room_id, model, spent + written.spent)
        await self._ledger.complete_with(target.event_id, counted)
        log.info("summarized %d messages for %s in %s", len(quoted), target.event_id, target.room_id)

    async def _summarize_parts(
        self,
        target: ReplyTarget,
        reply: StreamingReply,
        model: str,
        request: SummaryRequest,
        parts: list[list[str]],
        total: int,
    ) -> tuple[list[str], Spent]:
        summaries: list[str] = []
        spent = Spent()
        read = 0
        for number, lines in enumerate(parts, 1):
            percent = read * 100 // total
            await reply.show_status(strings.SUMMARY_PROGRESS.format(count=f"{total:,}", percent=percent))
            written = await self._writer.collect(
                target, model, summary_prompt(request.span, lines, number, len(parts))
            )
            summaries.append(written.visible)
            spent = spent + written.spent
            read += len(lines)
        await reply.show_status(strings.SUMMARY_PROGRESS.format(count=f"{total:,}", percent=100))
        return summaries, spent


class NameBook:
    """Display names as the bot's client knows them (the localpart when it does not)."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    def name(self, room_id: str, user_id: str) -> str:
        room = self._client.rooms.get(room_id)
        display = room.user_name(user_id) if room is not None else None
        return speaker_name(display, user_id)


def parse_request(argument: str, asked_ms: int, target: ReplyTarget) -> SummaryRequest | SummaryRequestError:
    """What `!summary <argument>` asks for; asked inside a thread with no argument, the
    whole thread."""
    request = parse_summary_request(argument, asked_ms)
    if target.thread_root and isinstance(request, SummaryRequest) and not argument.strip():
        return SummaryRequest(last=None, span="this thread")
    return request


def heading_text(request: SummaryRequest, span: Span) -> str:
    heading = strings.SUMMARY_HEADING.format(span=request.span, count=_messages(len(span.messages)))
    if span.capped:
        heading += strings.SUMMARY_CAPPED
    if span.unreadable:
        heading += strings.SUMMARY_UNREADABLE.format(count=_messages(span.unreadable))
    return heading


def nothing_text(request: SummaryRequest, span: Span) -> str:
    text = strings.SUMMARY_NOTHING.format(span=request.span)
    if span.unreadable:
        text += strings.SUMMARY_UNREADABLE.format(count=_messages(span.unreadable))
    return text


def _messages(count: int) -> str:
    return f"{count:,} message{'' if count == 1 else 's'}"
