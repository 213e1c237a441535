"""Services' readiness, written by each service and read by the portal's `/readyz`."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from appdb.models import ServiceHeartbeat


@dataclass(frozen=True)
class Heartbeat:
    service: str
    ready: bool
    detail: dict[str, Any]
    updated_ms: int

    def fresh(self, max_age_s: float, now_ms: int | None = None) -> bool:
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        return now_ms - self.updated_ms <= max_age_s * 1000


class HeartbeatStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def beat(self, service: str, ready: bool, detail: dict[str, Any]) -> None:
        async with self._sessions.begin() as session:
            row = await session.get(ServiceHeartbeat, service)
            values = {"ready": ready, "detail": json.dumps(detail), "updated_ms": int(time.time() * 1000)}
            if row is None:
                session.add(ServiceHeartbeat(service=service, **values))
            else:
                for key, value in values.items():
                    setattr(row, key, value)

    async def read(self, service: str) -> Heartbeat | None:
        async with self._sessions() as session:
            row = await session.get(ServiceHeartbeat, service)
        if row is None:
            return None
        return Heartbeat(row.service, row.ready, json.loads(row.detail or "{}"), row.updated_ms)
