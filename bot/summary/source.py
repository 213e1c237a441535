"""The messages a catch-up summary may use: read from the homeserver backwards from the
question with `/messages`, parsed at the edge, filtered to what the asker could read
themselves (`bot.summary.readable_history`), and bounded in pages and messages.

What the homeserver shows the bot is already limited to what the bot may see; the
asker's own view is then applied on top, so a summary never tells someone what was
said before they could read the room."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from nio import (
    AsyncClient,
    MessageDirection,
    RoomContextResponse,
    RoomGetStateEventResponse,
    RoomMessagesResponse,
)

from bot.summary.readable_history import HistoryEvent, ReadableWalk, Said, Unreadable, parse_history_event
from bot.summary.request import SummaryRequest

log = logging.getLogger(__name__)

PAGE = 100
SUMMARY_MAX_PAGES = 100  # at most 10,000 events read back for one summary (members' events count)
HISTORY_TYPES = ["m.room.message", "m.room.encrypted", "m.room.member", "m.room.history_visibility"]


class HistoryUnavailable(Exception):
    """The homeserver would not show the room's history (a passing failure)."""


@dataclass
class Span:
    """What the summary covers, oldest first."""

    messages: list[Said] = field(default_factory=list)
    unreadable: int = 0  # encrypted messages the bot could not decrypt
    capped: bool = False  # the message limit cut the span short


@dataclass
class _Reading:
    cut_short: bool = False  # the page limit ended the reading before the room's beginning


@dataclass(frozen=True)
class Where:
    room_id: str
    question_id: str
    asker: str
    bot: str
    thread_root: str | None = None


class RoomHistory:
    def __init__(
        self,
        client: AsyncClient,
        max_messages: int,
        max_pages: int,
        page: int = PAGE,
        *,
        synced_view: bool = False,
    ) -> None:
        self._client = client
        self._max_messages = max_messages
        self._max_pages = max_pages
        self._page = page
        # `synced_view`: for a few recent messages (a question's room context), cheaply: the
        # room's visibility and the asker's membership as the bot's sync knows them, and the
        # history read back from the room's end, skipping what came after the question,
        # without `/context` (which returns the room's whole state: slow in a big room).
        self._synced_view = synced_view

    async def span(self, where: Where, request: SummaryRequest) -> Span:
        visibility, membership = await self._asker_view(where)
        wanted = min(request.last or self._max_messages, self._max_messages)
        walk = ReadableWalk(where.asker, visibility, membership)
        span = Span()
        edits: dict[tuple[str, str], str] = {}  # (original id, editor) → newest text, met first
        reading = _Reading()
        before_question = not self._synced_view  # read from the room's end: skip what came after
        async for event in self._events(where, reading):
            item = walk.step(event)
            if not before_question:
                before_question = isinstance(event, Said) and event.event_id == where.question_id
                continue
            if item is None or item.event_id == where.question_id:
                continue
            if request.since_ms is not None and item.ts_ms < request.since_ms:
                break
            if isinstance(item, Said) and request.catch_up and _is_own_message(item, where.asker):
                break  # their own last message: what came after it is what they missed
            if _belongs(item, where):
                _take(item, where, span, edits)
            if len(span.messages) + span.unreadable >= wanted:
                span.capped = request.last is None or request.last > self._max_messages
                break
            if where.thread_root is not None and item.event_id == where.thread_root:
                break  # the thread's first message
        else:
            span.capped = reading.cut_short  # the page limit came before the span's start
        span.messages.reverse()
        return span

    async def _asker_view(self, where: Where) -> tuple[str, str]:
        """The room's history visibility now, and the asker's membership now."""
        room = self._client.rooms.get(where.room_id) if self._synced_view else None
        if room is not None:
            joined = where.asker in room.users and where.asker not in room.invited_users
            return room.history_visibility or "shared", "join" if joined else "leave"
        visibility = await self._state(where.room_id, "m.room.history_visibility", "", "history_visibility")
        membership = await self._state(where.room_id, "m.room.member", where.asker, "membership")
        return visibility or "shared", membership or "leave"

    async def _state(self, room_id: str, kind: str, key: str, field_name: str) -> str | None:
        response = await self._client.room_get_state_event(room_id, kind, key)
        if isinstance(response, RoomGetStateEventResponse):
            value = response.content.get(field_name) if isinstance(response.content, dict) else None
            return value if isinstance(value, str) else None
        if getattr(response, "status_code", "") == "M_NOT_FOUND":
            return None
        raise HistoryUnavailable(f"state {kind} of {room_id}: {getattr(response, 'message', response)}")

    async def _events(self, where: Where, reading: _Reading) -> AsyncIterator[HistoryEvent]:
        """The room's events before the question, newest first, parsed; at most max_pages
        pages (`reading.cut_short` says when there was more)."""
        token: str | None = None  # the room's end
        if not self._synced_view:
            context = await self._client.room_context(where.room_id, where.question_id, limit=0)
            # From just after the question, back (Synapse's `start` for limit=0 is no use here).
            if not isinstance(context, RoomContextResponse) or not context.end:
                raise HistoryUnavailable(
                    f"context of {where.question_id}: {getattr(context, 'message', context)}"
                )
            token = context.end
        for _ in range(self._max_pages):
            page = await self._client.room_messages(
                where.room_id,
                start=token,
                direction=MessageDirection.back,
                limit=self._page,
                message_filter={"types": HISTORY_TYPES},
            )
            if not isinstance(page, RoomMessagesResponse):
                raise HistoryUnavailable(f"history of {where.room_id}: {getattr(page, 'message', page)}")
            for event in page.chunk:
                parsed = parse_history_event(getattr(event, "source", None))
                if parsed is not None:
                    yield parsed
            if not page.chunk or not page.end or page.end == token:
                return
            token = page.end
        reading.cut_short = True


def _belongs(item: Said | Unreadable, where: Where) -> bool:
    """In a thread, only the thread (its root and its replies); elsewhere, everything."""
    if where.thread_root is None:
        return True
    root = item.thread_root if isinstance(item, Said) else None
    return item.event_id == where.thread_root or root == where.thread_root


def _is_own_message(said: Said, asker: str) -> bool:
    return said.sender == asker and said.replaces is None


def _take(item: Said | Unreadable, where: Where, span: Span, edits: dict[tuple[str, str], str]) -> None:
    """Add one readable item to the span (an edit is remembered for its original)."""
    if isinstance(item, Unreadable):
        span.unreadable += 1
    elif item.sender == where.bot:
        return  # the bot's own answers and notices are not the conversation
    elif item.replaces is not None:
        edits.setdefault((item.replaces, item.sender), item.text)
    else:
        span.messages.append(_edited(item, edits))


def _edited(said: Said, edits: dict[tuple[str, str], str]) -> Said:
    """The message as its author last edited it (edits by anyone else are ignored)."""
    text = edits.get((said.event_id, said.sender))
    return said if text is None else Said(said.event_id, said.sender, said.ts_ms, text, said.thread_root)
