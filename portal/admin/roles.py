"""Who is a portal admin: the people named in ADMIN_USERS, those an admin made one, and
the first account signed up on a server that has none (so `make run` on a laptop needs no
setting). A role of this platform only: it gives no power in Matrix."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from appdb.models import FirstAdminClaim, PortalAdmin

FIRST_ACCOUNT = "first account"
CACHE_S = 5.0  # the admin list is read at most this often (every page asks)


@dataclass(frozen=True)
class AdminGrant:
    user_id: str
    granted_by: str
    granted_at: datetime | None


class AdminRoles:
    def __init__(self, engine: AsyncEngine, named: frozenset[str]) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.named = named
        self._cached: frozenset[str] = frozenset()
        self._cached_at = float("-inf")

    async def is_admin(self, user_id: str) -> bool:
        if user_id.lower() in self.named:
            return True
        if time.monotonic() - self._cached_at > CACHE_S:
            self._cached = frozenset(grant.user_id for grant in await self.granted())
            self._cached_at = time.monotonic()
        return user_id in self._cached

    async def granted(self) -> list[AdminGrant]:
        async with self._sessions() as session:
            rows = (await session.execute(select(PortalAdmin).order_by(PortalAdmin.granted_at))).scalars()
            return [AdminGrant(row.user_id, row.granted_by, row.granted_at) for row in rows]

    async def grant(self, user_id: str, granted_by: str) -> None:
        async with self._sessions.begin() as session:
            if await session.get(PortalAdmin, user_id) is None:
                session.add(PortalAdmin(user_id=user_id, granted_by=granted_by))
        self._cached_at = float("-inf")

    async def revoke(self, user_id: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(PortalAdmin).where(PortalAdmin.user_id == user_id))
        self._cached_at = float("-inf")

    async def claim_first(self, user_id: str) -> bool:
        """Make `user_id` an admin if the server has none at all yet; True if it did. The
        one-row claim table decides between sign-ups at once, in any number of portals."""
        if self.named:
            return False
        try:
            async with self._sessions.begin() as session:
                if await session.scalar(select(func.count()).select_from(PortalAdmin)):
                    return False
                session.add(FirstAdminClaim(slot=1, user_id=user_id))
                await session.flush()  # a second claim fails here, before it grants anything
                session.add(PortalAdmin(user_id=user_id, granted_by=FIRST_ACCOUNT))
        except IntegrityError:
            return False
        self._cached_at = float("-inf")
        return True
