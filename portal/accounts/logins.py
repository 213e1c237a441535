"""Who is logged in: portal sessions mapped to Matrix logins, kept in the app database.

The Matrix access token is stored encrypted (Fernet) with a key only the portal holds,
so the bot, which shares the database, cannot use it. A session ends after
`session_idle_s` unused or `session_max_s` in all; `take_expired` hands the ended ones
to the portal's sweeper, which logs their Matrix device out."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from appdb.models import PortalLogin

TOUCH_EVERY = timedelta(minutes=1)  # last-seen is written at most this often per session


@dataclass(frozen=True)
class PortalUser:
    user_id: str
    access_token: str
    device_id: str
    session_id: str

    @property
    def localpart(self) -> str:
        return self.user_id[1:].split(":", 1)[0]


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class LoginStore:
    def __init__(self, engine: AsyncEngine, key: str, idle_s: int, max_s: int) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))
        self._idle = timedelta(seconds=idle_s)
        self._max = timedelta(seconds=max_s)

    async def create(self, user_id: str, access_token: str, device_id: str) -> PortalUser:
        session_id = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        sealed = self._fernet.encrypt(access_token.encode()).decode()
        async with self._sessions.begin() as session:
            session.add(
                PortalLogin(
                    session_id=session_id,
                    user_id=user_id,
                    access_token=sealed,
                    device_id=device_id,
                    created_at=now,
                    last_seen_at=now,
                )
            )
        return PortalUser(user_id, access_token, device_id, session_id)

    async def find(self, session_id: str, now: datetime | None = None) -> PortalUser | None:
        """The session's user, unless it has ended (then the sweeper revokes it)."""
        now = now or datetime.now(UTC)
        async with self._sessions() as session:
            row = await session.get(PortalLogin, session_id)
        if row is None or self._ended(row, now):
            return None
        user = self._user(row)
        if user is not None and now - _utc(row.last_seen_at) >= TOUCH_EVERY:
            async with self._sessions.begin() as session:
                await session.execute(
                    update(PortalLogin).where(PortalLogin.session_id == session_id).values(last_seen_at=now)
                )
        return user

    async def forget(self, session_id: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(PortalLogin).where(PortalLogin.session_id == session_id))

    async def forget_user(self, user_id: str) -> int:
        """End every portal session of `user_id` (they were deactivated); returns how many."""
        async with self._sessions.begin() as session:
            ended = await session.execute(delete(PortalLogin).where(PortalLogin.user_id == user_id))
        return int(getattr(ended, "rowcount", 0) or 0)

    async def take_expired(self, now: datetime | None = None) -> list[PortalUser]:
        """Remove the sessions that have ended; returns them so their tokens can be revoked."""
        now = now or datetime.now(UTC)
        ended = or_(PortalLogin.last_seen_at < now - self._idle, PortalLogin.created_at < now - self._max)
        async with self._sessions.begin() as session:
            rows = list((await session.execute(select(PortalLogin).where(ended))).scalars())
            if rows:
                ids = [row.session_id for row in rows]
                await session.execute(delete(PortalLogin).where(PortalLogin.session_id.in_(ids)))
        return [user for row in rows if (user := self._user(row)) is not None]

    async def sessions_of(self, user_id: str) -> list[PortalUser]:
        async with self._sessions() as session:
            rows = (
                await session.execute(select(PortalLogin).where(PortalLogin.user_id == user_id))
            ).scalars()
            return [user for row in rows if (user := self._user(row)) is not None]

    def _ended(self, row: PortalLogin, now: datetime) -> bool:
        return now - _utc(row.last_seen_at) > self._idle or now - _utc(row.created_at) > self._max

    def _user(self, row: PortalLogin) -> PortalUser | None:
        try:
            token = self._fernet.decrypt(row.access_token.encode()).decode()
        except InvalidToken:  # sealed under another key (it was rotated): logged out
            return None
        return PortalUser(row.user_id, token, row.device_id, row.session_id)
