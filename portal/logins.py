"""Who is logged in: portal sessions mapped to Matrix logins, kept in the app database."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from appdb.models import PortalLogin


@dataclass(frozen=True)
class PortalUser:
    user_id: str
    access_token: str
    device_id: str
    session_id: str

    @property
    def localpart(self) -> str:
        return self.user_id[1:].split(":", 1)[0]


class LoginStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def create(self, user_id: str, access_token: str, device_id: str) -> PortalUser:
        session_id = secrets.token_urlsafe(32)
        async with self._sessions.begin() as session:
            session.add(
                PortalLogin(
                    session_id=session_id, user_id=user_id, access_token=access_token, device_id=device_id
                )
            )
        return PortalUser(user_id, access_token, device_id, session_id)

    async def find(self, session_id: str) -> PortalUser | None:
        async with self._sessions() as session:
            row = await session.get(PortalLogin, session_id)
        return PortalUser(row.user_id, row.access_token, row.device_id, row.session_id) if row else None

    async def forget(self, session_id: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(PortalLogin).where(PortalLogin.session_id == session_id))
