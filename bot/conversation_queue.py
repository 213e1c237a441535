"""Run the bot's work in background tasks: one at a time per conversation, in arrival
order, while different conversations run in parallel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class ConversationQueue:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._waiting: dict[tuple[str, str], int] = {}

    def submit(self, key: tuple[str, str], work: Coroutine[Any, Any, None]) -> None:
        """Queue `work` behind earlier work with the same key (user, room)."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        task = asyncio.create_task(self._serialised(key, lock, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` with no ordering constraint."""
        task = asyncio.create_task(self._logged(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serialised(
        self, key: tuple[str, str], lock: asyncio.Lock, work: Coroutine[Any, Any, None]
    ) -> None:
        try:
            async with lock:
                await self._logged(work)
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                del self._locks[key]

    @staticmethod
    async def _logged(work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background work failed")

    async def drain(self, timeout: float = 5.0) -> None:
        """Give work in flight a moment to finish, then cancel the rest."""
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=timeout)
            for task in pending:
                task.cancel()
