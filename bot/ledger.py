"""The record of events the bot has taken on, so each question is answered exactly once,
and events it could not understand are skipped once and never replayed. The one owner
of "this event is done"."""

from __future__ import annotations

import logging

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.sql.dml import ReturningInsert

from appdb.conversations import InTransaction
from appdb.models import EVENT_DONE, EVENT_PENDING, EVENT_SKIPPED, BotEvent
from bot.jobs import Job, UnreadableJob

log = logging.getLogger(__name__)

# Six values a row: well under the smallest bound parameter limit (SQLite's old 999).
CLAIM_ROWS_PER_STATEMENT = 150


class EventLedger:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._dialect = engine.dialect.name

    async def claim(self, jobs: list[Job]) -> list[Job]:
        """Record a sync batch's jobs in one transaction; returns those not taken on
        before (duplicates are dropped), in order."""
        fresh: dict[str, Job] = {}
        for job in jobs:
            fresh.setdefault(job.event_id, job)
        if not fresh:
            return []
        rows = [
            {
                "event_id": job.event_id,
                "room_id": job.target.room_id,
                "sender": job.target.asker,
                "job": job.to_json(),
                "status": EVENT_PENDING,
                "received_ms": job.received_ms,
            }
            for job in fresh.values()
        ]
        # One statement: rows already recorded are left alone, and the new ones come back.
        async with self._sessions.begin() as session:
            taken: set[str] = set()
            for start in range(0, len(rows), CLAIM_ROWS_PER_STATEMENT):
                added = await session.execute(
                    _insert_new(self._dialect, rows[start : start + CLAIM_ROWS_PER_STATEMENT])
                )
                taken.update(str(event_id) for event_id in added.scalars())
        return [job for event_id, job in fresh.items() if event_id in taken]

    async def complete_with(self, event_id: str, also: InTransaction) -> None:
        """Mark the event done and run `also` in the same transaction (what it cost is
        counted exactly when it is done)."""
        async with self._sessions.begin() as session:
            await EventLedger.completion(event_id)(session)
            await also(session)

    async def skip(self, event_id: str, room_id: str, sender: str, received_ms: int) -> None:
        """Record an event the bot cannot act on (malformed, say), so it is never tried again."""
        async with self._sessions.begin() as session:
            if await session.get(BotEvent, event_id) is None:
                session.add(
                    BotEvent(
                        event_id=event_id,
                        room_id=room_id,
                        sender=sender,
                        job="{}",
                        status=EVENT_SKIPPED,
                        received_ms=received_ms,
                    )
                )

    async def is_recorded(self, event_id: str) -> bool:
        async with self._sessions() as session:
            return await session.get(BotEvent, event_id) is not None

    async def complete(self, event_id: str) -> None:
        async with self._sessions.begin() as session:
            await self.completion(event_id)(session)

    @staticmethod
    def completion(event_id: str) -> InTransaction:
        """Marks `event_id` done inside another store's transaction (the memory write, so
        an answer is remembered and counted done together, or neither)."""

        async def mark_done(session: AsyncSession) -> None:
            await session.execute(
                update(BotEvent).where(BotEvent.event_id == event_id).values(status=EVENT_DONE)
            )

        return mark_done

    async def pending(self, since_ms: int) -> list[Job]:
        """Jobs taken on but not finished (the bot stopped mid-way), oldest first. A row
        that cannot be read back is marked skipped, never retried."""
        query = (
            select(BotEvent.event_id, BotEvent.job, BotEvent.received_ms)
            .where(BotEvent.status == EVENT_PENDING, BotEvent.received_ms >= since_ms)
            .order_by(BotEvent.received_ms)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        jobs: list[Job] = []
        for event_id, text, received_ms in rows:
            try:
                jobs.append(Job.from_json(text, received_ms))
            except UnreadableJob as error:
                log.warning("skipping the unreadable stored job for %s: %s", event_id, error)
                async with self._sessions.begin() as session:
                    await session.execute(
                        update(BotEvent).where(BotEvent.event_id == event_id).values(status=EVENT_SKIPPED)
                    )
        return jobs

    async def forget_before(self, cutoff_ms: int) -> None:
        """Drop records older than any event that could still arrive."""
        async with self._sessions.begin() as session:
            await session.execute(delete(BotEvent).where(BotEvent.received_ms < cutoff_ms))


def _insert_new(dialect: str, rows: list[dict[str, object]]) -> ReturningInsert[tuple[str]]:
    """Insert the rows whose event is not recorded yet, returning their ids (both of the
    app's databases have INSERT … ON CONFLICT DO NOTHING … RETURNING)."""
    if dialect == "postgresql":
        return postgresql.insert(BotEvent).values(rows).on_conflict_do_nothing().returning(BotEvent.event_id)
    return sqlite.insert(BotEvent).values(rows).on_conflict_do_nothing().returning(BotEvent.event_id)
