"""The log of admin actions: who did what to whom, and when. Only admins read it; it
never holds a password, an invitation code or anything said in a conversation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from appdb.models import AuditEntry

PAGE = 100


@dataclass(frozen=True)
class Audited:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: str


class AuditLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def record(self, actor: str, action: str, target: str, detail: str = "") -> None:
        async with self._sessions.begin() as session:
            session.add(AuditEntry(actor=actor, action=action, target=target[:255], detail=detail[:1000]))

    async def recent(self, before_id: int | None = None, limit: int = PAGE) -> list[Audited]:
        """The newest entries first, `limit` at a time (never the whole log)."""
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(AuditEntry.id < before_id)
        async with self._sessions() as session:
            rows = (await session.execute(query)).scalars()
            return [Audited(r.id, r.at, r.actor, r.action, r.target, r.detail) for r in rows]
