"""One sync batch in: invitations accepted (or refused), gaps filled, each timeline event
turned into a job, and the batch's jobs recorded in the ledger and started.

Every event is handled on its own: one that raises (malformed, or a case no one thought
of) is logged once, recorded as skipped so it is never replayed, and the rest go on."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from typing import TYPE_CHECKING, Any

from nio import Event, InviteMemberEvent, MegolmEvent, SyncResponse
from nio.exceptions import EncryptionError

from bot import strings
from bot.commands import help_text
from bot.events import MalformedEvent
from bot.formatting import message_content
from bot.intake import RoomFacts
from bot.jobs import Job
from bot.matrix_io import MatrixActionFailed, is_direct_chat
from bot.rate_limit import Verdict
from bot.routing import AGAIN, GO_ON, Action
from bot.timeline import fill_gap
from bot.values import txn_id
from common.room_persona import PERSONA_EVENT_TYPE

if TYPE_CHECKING:
    from bot.config import BotSettings
    from bot.parts import BotParts

log = logging.getLogger(__name__)


class EventsIn:
    def __init__(self, settings: BotSettings, parts: BotParts) -> None:
        self._settings = settings
        self._p = parts
        self._greet_on_join: set[str] = set()

    async def take_in(self, response: SyncResponse, since: str | None) -> list[Job]:
        """The batch's new jobs, recorded in the ledger (in order; the caller starts them)."""
        for room_id, info in response.rooms.invite.items():
            self._on_invite(room_id, info.invite_state)
        jobs: list[Job] = []
        for room_id, info in response.rooms.join.items():
            room = self._p.client.rooms.get(room_id)
            if room is None:
                continue
            events: list[Event] = list(info.timeline.events)
            if info.timeline.limited and since and info.timeline.prev_batch:
                events = await self._with_gap(room_id, info.timeline.prev_batch, since) + events
            sources = [getattr(event, "source", None) for event in events]
            self._note_persona_changes(room_id, [*sources, *(getattr(e, "source", None) for e in info.state)])
            if self._p.intake.note_joins(room_id, sources) and room_id in self._greet_on_join:
                self._greet_on_join.discard(room_id)
                self._p.tasks.spawn(self._greet(room_id))
            facts = RoomFacts(room_id, is_direct_chat(room))
            for event in events:
                if job := await self._job_safely(facts, event):
                    jobs.append(job)
        jobs += await self._retry_undecryptable()
        return await self._p.ledger.claim(jobs)

    def _note_persona_changes(self, room_id: str, sources: list[object]) -> None:
        if self._p.room is not None and any(
            isinstance(source, dict) and source.get("type") == PERSONA_EVENT_TYPE for source in sources
        ):
            self._p.room.persona_changed(room_id)

    async def _with_gap(self, room_id: str, prev_batch: str, since: str) -> list[Event]:
        oldest_ms = int(time.time() * 1000) - self._settings.catchup_window_s * 1000
        try:
            return await fill_gap(self._p.client, room_id, prev_batch, since, oldest_ms)
        except Exception:
            log.exception("could not fill the gap in %s; taking in what the sync holds", room_id)
            return []

    async def _job_safely(self, room: RoomFacts, event: Event) -> Job | None:
        try:
            return await self._job_for(room, event)
        except MalformedEvent as error:
            await self._skip(room, event, f"malformed: {error}", traceback=False)
        except Exception:
            await self._skip(room, event, "it could not be handled", traceback=True)
        return None

    async def _skip(self, room: RoomFacts, event: Event, why: str, *, traceback: bool) -> None:
        event_id = getattr(event, "event_id", None)
        if not isinstance(event_id, str):
            log.warning("skipping an event without an id in %s: %s", room.room_id, why)
            return
        if await self._p.ledger.is_recorded(event_id):
            return  # skipped before: logged then
        log.warning("skipping event %s in %s: %s", event_id, room.room_id, why, exc_info=traceback)
        sender = getattr(event, "sender", "")
        timestamp = getattr(event, "server_timestamp", 0)
        await self._p.ledger.skip(
            event_id,
            room.room_id,
            sender if isinstance(sender, str) else "",
            timestamp if isinstance(timestamp, int) else 0,
        )

    async def _job_for(self, room: RoomFacts, event: Event) -> Job | None:
        if isinstance(event, MegolmEvent):
            if self._p.undecryptable.add(room.room_id, event, time.monotonic()):
                with contextlib.suppress(Exception):
                    await self._p.client.request_room_key(event)
            return None
        job = self._p.intake.job_for(room, getattr(event, "source", None))
        if job is None:
            return None
        if job.action in (Action.ANSWER, Action.COMMAND, Action.SUMMARIZE, Action.REMIND) or (
            job.action is Action.REACT and job.question in (AGAIN, GO_ON)
        ):
            verdict = self._p.limiter.check(job.target.asker)
            if verdict is Verdict.REFUSE_QUIETLY:
                return None
            if verdict is Verdict.REFUSE_WITH_NOTICE:
                job = dataclasses.replace(job, action=Action.RATE_LIMITED)
        return job

    async def _retry_undecryptable(self) -> list[Job]:
        """Jobs for events whose keys have arrived since; one notice per room for the rest."""
        tracker = self._p.undecryptable
        jobs: list[Job] = []
        for event_id, item in list(tracker.waiting.items()):
            try:
                decrypted = self._p.client.decrypt_event(item.event)
            except EncryptionError:
                continue
            except Exception:
                log.exception("could not decrypt %s; dropping it", event_id)
                tracker.resolved(event_id)
                continue
            tracker.resolved(event_id)
            room = self._p.client.rooms.get(item.room_id)
            if room is not None and (
                job := await self._job_safely(RoomFacts(room.room_id, is_direct_chat(room)), decrypted)
            ):
                jobs.append(job)
        for room_id in tracker.expired(time.monotonic()):
            content = message_content(strings.UNDECRYPTABLE, notice=True)
            self._p.tasks.spawn(self._send_quietly(room_id, content, txn_id("undecryptable", room_id)))
        return jobs

    def _on_invite(self, room_id: str, invite_state: list[Any]) -> None:
        for event in invite_state:
            if not (
                isinstance(event, InviteMemberEvent)
                and event.state_key == self._settings.user_id
                and event.membership == "invite"
            ):
                continue
            if not self._p.intake.accepts_invite_from(event.sender):
                log.warning("refusing an invitation to %s from %s (another server)", room_id, event.sender)
                self._p.tasks.spawn(self._p.matrix.leave(room_id))
                return
            content = event.content if isinstance(event.content, dict) else {}
            if content.get("is_direct") is True:
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
