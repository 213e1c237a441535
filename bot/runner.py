"""The bot's lifecycle: log in (retrying while the homeserver is down), join the
platform's rooms, sync, and resume the jobs a crash interrupted once the first sync has
told the client about their rooms. Each batch of events becomes recorded jobs before the
sync position moves on; the jobs run in tasks of their own.

Nothing one event contains can stop this loop: each event is handled on its own, and
one that cannot be handled is logged once, recorded as skipped and never replayed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from typing import Any

from nio import SyncResponse

from bot import credentials
from bot.config import BotSettings
from bot.crypto import keys_housekeeping
from bot.events_in import EventsIn
from bot.jobs import Job
from bot.parts import BotParts

log = logging.getLogger(__name__)

SYNC_TIMEOUT_MS = 30_000


def sync_filter(timeline_limit: int) -> dict[str, Any]:
    """The bot needs no presence, typing or receipts: asking for none spares the homeserver."""
    return {
        "presence": {"types": []},
        "room": {"ephemeral": {"types": []}, "timeline": {"limit": timeline_limit}},
    }


# The first sync of a fresh install skips history: only what is said from now on counts.
FIRST_SYNC_FILTER = sync_filter(0)
MAX_BACKOFF_S = 30.0
LEDGER_KEEP_MS = 24 * 3600 * 1000
HEARTBEAT_EVERY_S = 15.0
REJOIN_EVERY_S = 10.0
SERVICE_NAME = "bot"


class BotRunner:
    def __init__(self, settings: BotSettings, parts: BotParts) -> None:
        self._settings = settings
        self._p = parts
        self._timeline_filter = sync_filter(settings.sync_timeline_limit)
        self._events = EventsIn(settings, parts)
        self._platform_rooms: dict[str, str | None] = dict.fromkeys(settings.platform_rooms)
        self._joined_at = float("-inf")
        self._beat_at = float("-inf")
        self._was_ready = False
        self._reminders: asyncio.Task[None] | None = None

    async def run(self, stop: asyncio.Event) -> None:
        watch = asyncio.create_task(self._p.servers.watch())
        warm = asyncio.create_task(self._warm_up())
        try:
            await self._run(stop)
        finally:
            watch.cancel()
            warm.cancel()
            if self._reminders is not None:  # a firing cut off is resent at the next start
                self._reminders.cancel()
                await asyncio.gather(self._reminders, return_exceptions=True)

    async def _warm_up(self) -> None:
        """Load the default model on every server that has it, so the first question after
        a start does not wait for the model to load (it stays loaded for a while)."""
        model = self._settings.ollama_model
        for server in await self._p.servers.with_model(model):
            await self._p.assistant.warm_up(server, model)

    async def _run(self, stop: asyncio.Event) -> None:
        await self._log_in(stop)
        await self._join_platform_rooms()
        since = self._p.position.load()
        backoff = 1.0
        resumed = False
        while not stop.is_set():
            batch = await self._sync(since, stop, caught_up=resumed)
            if batch is None:
                if stop.is_set():
                    break
                await _wait(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            try:
                # Jobs a crash interrupted run first, now that the client knows their rooms,
                # and before anything newer in the same conversation.
                unfinished = [] if resumed else await self._unfinished()
                fresh = await self._events.take_in(batch, since)
            except Exception:  # the database is down, say: keep the position, try again
                log.exception("could not record a sync batch; retrying in %.0f s", backoff)
                await _wait(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            for job in unfinished:
                log.info("resuming %s from before the restart", job.event_id)
                self._p.tasks.submit(job.conversation, self._p.dispatcher.run(job, resumed=True))
            for job in sorted(fresh, key=lambda job: job.received_ms):  # a sync lists rooms, not time
                self._p.tasks.submit(job.conversation, self._p.dispatcher.run(job))
            # Let the jobs just started reach their first wait (their reads) before the
            # position is saved and the upkeep runs.
            await asyncio.sleep(0)
            resumed = True
            backoff = 1.0
            since = batch.next_batch
            self._p.position.save(since)
            if self._reminders is None and self._p.reminders is not None:  # the client knows the rooms now
                self._reminders = asyncio.create_task(self._p.reminders.run())
            await self._upkeep()
        await self._p.tasks.drain()

    async def _sync(self, since: str | None, stop: asyncio.Event, caught_up: bool) -> SyncResponse | None:
        """One sync, or None after a failure (logged)."""
        sync_filter = self._timeline_filter if since else FIRST_SYNC_FILTER
        # The first sync after a start asks for every room's full state: nio keeps no rooms
        # across restarts, and resumed jobs (and the readiness check) need them all.
        call = self._p.client.sync(
            timeout=self._sync_timeout_ms(caught_up),
            since=since,
            sync_filter=sync_filter,
            full_state=not caught_up,
        )
        try:
            response = await _until_stopped(call, stop)
        except Exception:  # nio could not digest the response: log it, try again
            log.exception("sync failed while processing the response")
            return None
        if response is None or isinstance(response, SyncResponse):
            return response
        log.warning("sync failed (%s)", getattr(response, "message", response))
        return None

    def _sync_timeout_ms(self, caught_up: bool) -> int:
        """Catch up at once after start; wake early while undecryptable events wait."""
        if not caught_up:
            return 0
        if self._p.undecryptable.waiting:
            return min(SYNC_TIMEOUT_MS, int(self._p.undecryptable.grace_s * 1000))
        return SYNC_TIMEOUT_MS

    async def _upkeep(self) -> None:
        """After each sync: rejoin missing platform rooms, keys, and the health reports."""
        missing = [alias for alias, room_id in self._platform_rooms.items() if room_id is None]
        if missing and time.monotonic() - self._joined_at >= REJOIN_EVERY_S:
            await self._join_platform_rooms()
        try:
            await keys_housekeeping(self._p.client)
        except Exception:
            log.exception("encryption key upkeep failed; trying again after the next sync")
        ready = all(room_id in self._p.client.rooms for room_id in self._platform_rooms.values())
        self._p.position.mark_healthy(self._settings.user_id, ready=ready)
        if ready != self._was_ready or time.monotonic() - self._beat_at >= HEARTBEAT_EVERY_S:
            try:
                await self._p.heartbeats.beat(SERVICE_NAME, ready, {"rooms": self._platform_rooms})
                self._beat_at = time.monotonic()
                if ready and not self._was_ready:
                    log.info("ready: synced and in %s", ", ".join(self._platform_rooms) or "no rooms")
                self._was_ready = ready
            except Exception:
                log.exception("could not record the bot's readiness")

    async def _join_platform_rooms(self) -> None:
        self._joined_at = time.monotonic()
        for alias, room_id in self._platform_rooms.items():
            if room_id is None:
                self._platform_rooms[alias] = await self._p.matrix.join(alias)

    async def _unfinished(self) -> list[Job]:
        """Jobs taken on before this start and not finished, oldest first."""
        now_ms = int(time.time() * 1000)
        window_ms = self._settings.catchup_window_s * 1000
        await self._p.ledger.forget_before(now_ms - max(LEDGER_KEEP_MS, window_ms))
        return await self._p.ledger.pending(now_ms - window_ms)

    async def _log_in(self, stop: asyncio.Event) -> None:
        backoff = 1.0
        while not stop.is_set():
            try:
                stored = await credentials.log_in(
                    self._p.client, self._settings.bot_password, self._settings.state_dir / "login.json"
                )
                log.info("logged in as %s (device %s)", stored.user_id, stored.device_id)
                return
            except (TimeoutError, OSError) as error:
                log.warning("homeserver unreachable (%s); retrying in %.0f s", error, backoff)
            await _wait(stop, backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _until_stopped(call: Coroutine[Any, Any, Any], stop: asyncio.Event) -> Any:
    """Await `call` unless `stop` is set first; then cancel it and return None."""
    work = asyncio.ensure_future(call)
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if not work.done():
        work.cancel()
        return None
    return work.result()
