"""Post each reminder's due firing exactly once, also across crashes and downtime.

The loop sleeps until the soonest due instant (at most a minute; `wake()` when one is
added), claims every due firing in one transaction (`sending`), and hands them to one
sender per room, which posts them in order, rooms in parallel. A firing is posted with a
transaction id made of (reminder, due instant), then marked fired (`marks`: a one-off is
done, a recurring one moves to its next instant). At start, firings an earlier run
claimed but did not mark are posted again first, with the same transaction id: whatever
the earlier run got through, the homeserver stores each (reminder, instant) once.

A firing posted later than REMINDER_GRACE_SECONDS after its time becomes one notice that
it was missed (a recurring reminder down for several instants: its latest one only)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from appdb.reminders import ReminderStore, StoredReminder
from bot.matrix_io import MatrixActionFailed, MatrixIO
from bot.reminders.marks import FiredMarks, backoff, retrying
from bot.reminders.messages import Firing, firing_content, firing_kind, instant
from bot.reminders.timing import Rule, latest_occurrence, next_occurrence, zone_or_utc
from bot.values import txn_id

log = logging.getLogger(__name__)

MAX_SLEEP_S = 60.0  # re-read the soonest instant at least this often (clock changes)
SENDS_AT_ONCE = 16  # rooms posting at the same moment
MARKS_AT_STOP_S = 3.0  # at a stop, how long the last marks may take to write
# Done reminders are kept longer than any job can be resumed (CATCHUP_WINDOW_SECONDS, at
# most 7 days), so a resumed job finds the reminder its message set; forgotten after.
DONE_KEPT_MS = 8 * 86400 * 1000
FORGET_EVERY_MS = 3600 * 1000


def latest_due(rule: str, zone: str, due_ms: int, now_ms: int) -> int:
    """The store's `LatestDue`: a recurring reminder's latest instant not after now."""
    try:
        parsed = Rule.decode(rule)
    except ValueError:
        return due_ms
    tz = zone_or_utc(zone)
    return int(latest_occurrence(parsed, instant(due_ms), instant(now_ms), tz).timestamp() * 1000)


def following_due(reminder: StoredReminder) -> int | None:
    """After a firing: the next instant of a recurring reminder; None for a one-off."""
    if reminder.rule is None:
        return None
    zone = zone_or_utc(reminder.time_zone)
    try:
        rule = Rule.decode(reminder.rule)
    except ValueError:
        log.warning("reminder %s has an unreadable rule %r; it ends here", reminder.id, reminder.rule)
        return None
    return int(next_occurrence(rule, instant(reminder.due_ms), zone).timestamp() * 1000)


@dataclass(frozen=True)
class Queued:
    reminder: StoredReminder
    resent: bool  # claimed by an earlier run: it may have been posted already


class ReminderScheduler:
    def __init__(
        self, store: ReminderStore, matrix: MatrixIO, grace_s: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._matrix = matrix
        self._grace_s = grace_s
        self._clock = clock
        self._wake = asyncio.Event()
        self._queues: dict[str, deque[Queued]] = {}
        self._senders: dict[str, asyncio.Task[None]] = {}
        self._sends = asyncio.Semaphore(SENDS_AT_ONCE)
        self._marks = FiredMarks(store, self.wake)
        self._started_ms = 0
        self._forgot_ms = 0

    def wake(self) -> None:
        """A reminder was added: look at the soonest instant again now."""
        self._wake.set()

    async def run(self) -> None:
        """Until cancelled (when the bot stops); a firing cut off is resent at the next start."""
        try:
            await retrying(self.start)
            while True:
                self._wake.clear()
                delay = await retrying(self.tick)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=delay)
        finally:
            await self.stop()

    async def start(self) -> None:
        """Queue the firings an earlier run claimed and did not mark fired."""
        self._started_ms = self._now_ms()
        claimed = await self._store.claimed()
        if claimed:
            log.info("reminders: sending again %d firings claimed before the restart", len(claimed))
        self._queue(claimed, resent=True)

    async def tick(self) -> float:
        """Claim and queue what is due; the seconds until the next instant."""
        now_ms = self._now_ms()
        if now_ms - self._forgot_ms >= FORGET_EVERY_MS:
            await self._store.forget_done(now_ms - DONE_KEPT_MS)
            self._forgot_ms = now_ms
        self._queue(await self._store.claim_due(now_ms, latest_due), resent=False)
        soonest = await self._store.next_due_ms()
        if soonest is None:
            return MAX_SLEEP_S
        return min(MAX_SLEEP_S, max(0.0, (soonest - self._now_ms() + 1) / 1000))

    async def idle(self) -> None:
        """Wait until every queued firing is posted and marked (tests, the benchmark)."""
        while self._senders:
            await asyncio.gather(*self._senders.values(), return_exceptions=True)
        await self._marks.written()

    async def stop(self, *, power_cut: bool = False) -> None:
        """Cut off the firings being posted (they are resent at the next start) and write
        the marks of those posted; a `power_cut` (the tests') writes nothing more."""
        for task in self._senders.values():
            task.cancel()
        await asyncio.gather(*self._senders.values(), return_exceptions=True)
        if power_cut:
            self._marks.abandon()
        else:
            await self._marks.close(MARKS_AT_STOP_S)

    def _queue(self, reminders: list[StoredReminder], *, resent: bool) -> None:
        for reminder in reminders:
            self._queues.setdefault(reminder.room_id, deque()).append(Queued(reminder, resent))
            if reminder.room_id not in self._senders:
                task = asyncio.create_task(self._send_room(reminder.room_id))
                self._senders[reminder.room_id] = task

    async def _send_room(self, room_id: str) -> None:
        """One room's firings, in order; the task ends when its queue is empty."""
        queue = self._queues[room_id]
        try:
            while queue:
                try:
                    await self._fire(queue[0])
                except Exception:  # a case nobody thought of: log it, never post it twice
                    self._give_up(queue[0].reminder)
                queue.popleft()
        finally:
            del self._queues[room_id], self._senders[room_id]

    async def _fire(self, queued: Queued) -> None:
        """Post the firing (again, while the homeserver fails); its mark is written after."""
        reminder = queued.reminder
        for attempt in itertools.count():
            kind = firing_kind(
                reminder.due_ms, self._now_ms(), self._started_ms, self._grace_s * 1000, resent=queued.resent
            )
            if kind is Firing.DROP:
                log.warning("reminder %s: claimed too long ago to resend safely; dropped", reminder.id)
                break
            if await self._post(reminder, kind):
                break
            await asyncio.sleep(backoff(attempt))
        self._marks.add((reminder.id, reminder.due_ms, following_due(reminder)))

    def _give_up(self, reminder: StoredReminder) -> None:
        log.exception("reminder %s could not be posted; it is marked fired", reminder.id)
        self._marks.add((reminder.id, reminder.due_ms, None))

    async def _post(self, reminder: StoredReminder, kind: Firing) -> bool:
        """True when the firing is done with (posted, or refused for good)."""
        content = firing_content(reminder, kind, self._grace_s)
        txn = txn_id("reminder", str(reminder.id), str(reminder.due_ms))
        try:
            async with self._sends:
                await self._matrix.send(reminder.room_id, content, txn)
        except MatrixActionFailed as error:
            if error.permanent or not self._matrix.is_in(reminder.room_id):
                log.warning("reminder %s not posted, for good: %s", reminder.id, error)
                return True
            log.warning("reminder %s not posted yet: %s", reminder.id, error)
            return False
        log.info("reminder %s posted (%s, due %d)", reminder.id, kind.value, reminder.due_ms)
        return True

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)
