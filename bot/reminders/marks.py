"""Firings posted, marked fired in the database off the senders' path: a room's next
reminder is sent while the last one's mark is written, and marks that pile up meanwhile
are written together in one transaction. A mark lost to a crash costs nothing but a
resend, which the homeserver recognises by its transaction id and stores no second time."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from appdb.reminders import Fired, ReminderStore

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_DELAYS_S = (1.0, 2.0, 5.0, 15.0, 30.0, 60.0)


def backoff(attempt: int) -> float:
    return RETRY_DELAYS_S[min(attempt, len(RETRY_DELAYS_S) - 1)]


async def retrying(step: Callable[[], Awaitable[T]]) -> T:
    """Run a database step until it works (the database may be down a while)."""
    for attempt in itertools.count():
        try:
            return await step()
        except Exception:
            delay = backoff(attempt)
            log.exception("reminders: a database step failed; trying again in %.0f s", delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


class FiredMarks:
    def __init__(self, store: ReminderStore, recurring_marked: Callable[[], None]) -> None:
        self._store = store
        self._recurring_marked = recurring_marked  # a recurring one has a next instant now
        self._pending: list[Fired] = []
        self._writer: asyncio.Task[None] | None = None

    def add(self, mark: Fired) -> None:
        self._pending.append(mark)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())

    async def written(self) -> None:
        """Wait until every mark added so far is in the database."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def close(self, timeout_s: float) -> None:
        """Write what is pending if the database lets us within `timeout_s`; else leave it
        (those firings are resent at the next start)."""
        if self._writer is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._writer), timeout_s)
        self._writer.cancel()
        await asyncio.gather(self._writer, return_exceptions=True)

    def abandon(self) -> None:
        """A power cut, for the tests: what is pending is never written."""
        self._pending.clear()
        if self._writer is not None:
            self._writer.cancel()

    async def _write(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            await retrying(lambda: self._store.fired_all(batch))  # noqa: B023 (awaited in the loop)
            if any(following is not None for _, _, following in batch):
                self._recurring_marked()
