"""Bring the app database to the newest schema with Alembic. The bot and the portal both
call this at start; a lock inside the migration transaction lets only one of them
migrate at a time (an advisory lock on PostgreSQL, the write lock on SQLite)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK_ID = 0x6D617472  # any constant shared by every process of this app


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _take_lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})"))
    else:
        connection.execute(text("CREATE TABLE IF NOT EXISTS migration_lock (id INTEGER)"))
        connection.execute(text("DELETE FROM migration_lock"))  # a write: holds SQLite's lock


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_take_lock)
        await connection.run_sync(lambda sync: command.upgrade(_config(sync), revision))


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        try:
            row = (await connection.execute(text("SELECT version_num FROM alembic_version"))).first()
        except Exception:  # no alembic_version table yet
            return None
    return str(row[0]) if row else None
