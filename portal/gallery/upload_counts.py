"""How many files each person has shared through the portal today (the daily cap)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from appdb.models import PortalUpload
from portal.app_keys import DB_ENGINE


class UploadCounts:
    def __init__(self, app: web.Application) -> None:
        self._sessions = async_sessionmaker(app[DB_ENGINE], expire_on_commit=False)

    async def today(self, user_id: str) -> int:
        """Files shared in the last 24 hours."""
        since = datetime.now(UTC) - timedelta(days=1)
        query = select(func.count()).where(PortalUpload.user_id == user_id, PortalUpload.created_at >= since)
        async with self._sessions() as session:
            return int((await session.execute(query)).scalar_one())

    async def record(self, user_id: str) -> None:
        async with self._sessions.begin() as session:
            session.add(PortalUpload(user_id=user_id, created_at=datetime.now(UTC)))


UPLOAD_COUNTS = web.AppKey("upload_counts", UploadCounts)
