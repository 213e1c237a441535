"""The record of events the bot has taken on, so each question is answered exactly once."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from appdb.models import EVENT_DONE, EVENT_PENDING, BotEvent
from bot.jobs import Job


class EventLedger:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def claim(self, jobs: list[tuple[Job, int]]) -> list[Job]:
        """Record a sync batch's jobs in one transaction; returns those not taken on
        before (duplicates are dropped), in order."""
        fresh: dict[str, tuple[Job, int]] = {}
        for job, received_ms in jobs:
            fresh.setdefault(job.event_id, (job, received_ms))
        if not fresh:
            return []
        async with self._sessions.begin() as session:
            known = await session.execute(select(BotEvent.event_id).where(BotEvent.event_id.in_(list(fresh))))
            for event_id in known.scalars():
                del fresh[event_id]
            session.add_all(
                BotEvent(
                    event_id=job.event_id,
                    room_id=job.target.room_id,
                    sender=job.target.asker,
                    job=job.to_json(),
                    status=EVENT_PENDING,
                    received_ms=received_ms,
                )
                for job, received_ms in fresh.values()
            )
        return [job for job, _ in fresh.values()]

    async def complete(self, event_id: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(BotEvent).where(BotEvent.event_id == event_id).values(status=EVENT_DONE)
            )

    async def pending(self, since_ms: int) -> list[Job]:
        """Jobs taken on but not finished (the bot stopped mid-way), oldest first."""
        query = (
            select(BotEvent.job)
            .where(BotEvent.status == EVENT_PENDING, BotEvent.received_ms >= since_ms)
            .order_by(BotEvent.received_ms)
        )
        async with self._sessions() as session:
            return [Job.from_json(text) for text in (await session.execute(query)).scalars()]

    async def forget_before(self, cutoff_ms: int) -> None:
        """Drop records older than any event that could still arrive."""
        async with self._sessions.begin() as session:
            await session.execute(delete(BotEvent).where(BotEvent.received_ms < cutoff_ms))
