"""The bot's lifecycle: log in (retrying while the homeserver is down), resume jobs a
crash interrupted, then sync. Each batch of events becomes recorded jobs before the
sync position moves on; the jobs run in tasks of their own."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Coroutine
from typing import Any

from nio import AsyncClient, Event, InviteMemberEvent, MatrixRoom, MegolmEvent, SyncResponse
from nio.exceptions import EncryptionError

from bot import credentials, strings
from bot.commands import help_text
from bot.config import BotSettings
from bot.crypto import keys_housekeeping
from bot.dispatch import Dispatcher
from bot.formatting import message_content
from bot.intake import Intake
from bot.jobs import Job
from bot.ledger import EventLedger
from bot.matrix_io import MatrixActionFailed, MatrixIO, txn_id
from bot.rate_limit import UserRateLimiter, Verdict
from bot.routing import Action
from bot.sync_position import SyncPosition
from bot.tasks import ConversationTasks
from bot.timeline import fill_gap
from bot.undecryptable import UndecryptableTracker

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


@dataclasses.dataclass
class BotParts:
    client: AsyncClient
    matrix: MatrixIO
    intake: Intake
    dispatcher: Dispatcher
    ledger: EventLedger
    limiter: UserRateLimiter
    tasks: ConversationTasks
    position: SyncPosition
    undecryptable: UndecryptableTracker


class BotRunner:
    def __init__(self, settings: BotSettings, parts: BotParts) -> None:
        self._settings = settings
        self._p = parts
        self._greet_on_join: set[str] = set()
        self._timeline_filter = sync_filter(settings.sync_timeline_limit)

    async def run(self, stop: asyncio.Event) -> None:
        await self._log_in(stop)
        await self._resume_unfinished()
        since = self._p.position.load()
        backoff = 1.0
        caught_up = False
        while not stop.is_set():
            sync_filter = self._timeline_filter if since else FIRST_SYNC_FILTER
            response = await _until_stopped(
                self._p.client.sync(
                    timeout=self._sync_timeout_ms(caught_up), since=since, sync_filter=sync_filter
                ),
                stop,
            )
            if response is None:
                break
            if not isinstance(response, SyncResponse):
                log.warning(
                    "sync failed (%s); retrying in %.0f s", getattr(response, "message", response), backoff
                )
                await _wait(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            backoff = 1.0
            caught_up = True
            await self._take_in(response, since)
            since = response.next_batch
            self._p.position.save(since)
            self._p.position.mark_healthy(self._settings.user_id)
            await keys_housekeeping(self._p.client)
        await self._p.tasks.drain()

    def _sync_timeout_ms(self, caught_up: bool) -> int:
        """Catch up at once after start; wake early while undecryptable events wait."""
        if not caught_up:
            return 0
        if self._p.undecryptable.waiting:
            return min(SYNC_TIMEOUT_MS, int(self._p.undecryptable.grace_s * 1000))
        return SYNC_TIMEOUT_MS

    # --- events to jobs ----------------------------------------------------------------

    async def _take_in(self, response: SyncResponse, since: str | None) -> None:
        for room_id, info in response.rooms.invite.items():
            self._on_invite(room_id, info.invite_state)
        jobs: list[tuple[Job, int]] = []
        for room_id, info in response.rooms.join.items():
            room = self._p.client.rooms.get(room_id)
            if room is None:
                continue
            events: list[Event] = list(info.timeline.events)
            if info.timeline.limited and since and info.timeline.prev_batch:
                oldest_ms = int(time.time() * 1000) - self._settings.catchup_window_s * 1000
                gap = await fill_gap(self._p.client, room_id, info.timeline.prev_batch, since, oldest_ms)
                events = gap + events
            if self._p.intake.note_joins(room_id, events) and room_id in self._greet_on_join:
                self._greet_on_join.discard(room_id)
                self._p.tasks.spawn(self._greet(room_id))
            jobs += [found for event in events if (found := await self._job_for(room, event))]
        jobs += await self._retry_undecryptable()
        for fresh in await self._p.ledger.claim(jobs):
            self._p.tasks.submit(fresh.conversation, self._p.dispatcher.run(fresh))

    async def _job_for(self, room: MatrixRoom, event: Event) -> tuple[Job, int] | None:
        if isinstance(event, MegolmEvent):
            if self._p.undecryptable.add(room.room_id, event, time.monotonic()):
                with contextlib.suppress(Exception):
                    await self._p.client.request_room_key(event)
            return None
        job = self._p.intake.job_for(room, event)
        if job is None:
            return None
        if job.action in (Action.ANSWER, Action.COMMAND):
            verdict = self._p.limiter.check(job.target.asker)
            if verdict is Verdict.REFUSE_QUIETLY:
                return None
            if verdict is Verdict.REFUSE_WITH_NOTICE:
                job = dataclasses.replace(job, action=Action.RATE_LIMITED)
        return job, event.server_timestamp

    async def _retry_undecryptable(self) -> list[tuple[Job, int]]:
        """Jobs for events whose keys have arrived since; one notice per room for the rest."""
        tracker = self._p.undecryptable
        jobs: list[tuple[Job, int]] = []
        for event_id, item in list(tracker.waiting.items()):
            try:
                decrypted = self._p.client.decrypt_event(item.event)
            except EncryptionError:
                continue
            tracker.resolved(event_id)
            room = self._p.client.rooms.get(item.room_id)
            if room is not None and (found := await self._job_for(room, decrypted)):
                jobs.append(found)
        for room_id in tracker.expired(time.monotonic()):
            content = message_content(strings.UNDECRYPTABLE, notice=True)
            self._p.tasks.spawn(self._send_quietly(room_id, content, txn_id("undecryptable", room_id)))
        return jobs

    def _on_invite(self, room_id: str, invite_state: list[Any]) -> None:
        for event in invite_state:
            if (
                isinstance(event, InviteMemberEvent)
                and event.state_key == self._settings.user_id
                and event.membership == "invite"
            ):
                if event.content.get("is_direct"):
                    self._greet_on_join.add(room_id)
                self._p.tasks.spawn(self._join(room_id))
                return

    async def _join(self, room_id: str) -> None:
        await self._p.matrix.join(room_id)

    async def _greet(self, room_id: str) -> None:
        greeting = strings.GREETING.format(commands=help_text(self._p.intake.identity.localpart))
        await self._send_quietly(room_id, message_content(greeting, notice=True), txn_id("greeting", room_id))

    async def _send_quietly(self, room_id: str, content: dict[str, Any], txn: str) -> None:
        try:
            await self._p.matrix.send(room_id, content, txn)
        except MatrixActionFailed as error:
            log.warning("%s", error)

    # --- start-up ----------------------------------------------------------------------

    async def _resume_unfinished(self) -> None:
        now_ms = int(time.time() * 1000)
        await self._p.ledger.forget_before(
            now_ms - max(LEDGER_KEEP_MS, self._settings.catchup_window_s * 1000)
        )
        unfinished = await self._p.ledger.pending(now_ms - self._settings.catchup_window_s * 1000)
        for job in unfinished:
            log.info("resuming %s from before the restart", job.event_id)
            self._p.tasks.submit(job.conversation, self._p.dispatcher.run(job))

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
