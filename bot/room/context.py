"""Who said what: in a group room, the room's recent messages with their speakers' names,
as the asker could read them (the same history-visibility walk as catch-up summaries),
so "what did Anna suggest?" can be answered. In a direct chat nothing is added."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.summary.request import SummaryRequest
from bot.summary.source import HistoryUnavailable, RoomHistory, Where
from bot.values import ReplyTarget

log = logging.getLogger(__name__)

RECENT_MESSAGES = 20
RECENT_PAGE = 50  # one page of history (members' events count) is read for them
LINE_CHARS = 600  # a long message is quoted by its beginning


class RecentMessages:
    def __init__(self, history: RoomHistory, name: Callable[[str, str], str], bot_user_id: str) -> None:
        self._history = history
        self._name = name
        self._bot = bot_user_id

    async def lines(self, target: ReplyTarget) -> list[str]:
        """`Name: text` for the room's recent messages before the question, oldest first
        (in a thread, the thread's); [] when the homeserver would not show them."""
        where = Where(target.room_id, target.event_id, target.asker, self._bot, target.thread_root)
        try:
            span = await self._history.span(where, SummaryRequest(last=RECENT_MESSAGES))
        except HistoryUnavailable as error:
            log.warning("no recent messages for %s: %s", target.event_id, error)
            return []
        return [
            f"{self._name(target.room_id, said.sender)}: {' '.join(said.text.split())[:LINE_CHARS]}"
            for said in span.messages
        ]
