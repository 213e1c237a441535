"""Each user's settings (their model), read and written by both the bot and the portal."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from appdb.models import UserSettings


class UserSettingsStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def get_model(self, user_id: str) -> str | None:
        async with self._sessions() as session:
            found = await session.get(UserSettings, user_id)
        return found.model if found else None

    async def set_model(self, user_id: str, model: str) -> None:
        async with self._sessions.begin() as session:
            found = await session.get(UserSettings, user_id)
            if found is None:
                session.add(UserSettings(user_id=user_id, model=model))
            else:
                found.model = model
