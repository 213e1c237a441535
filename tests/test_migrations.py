"""Alembic migrations, on SQLite and PostgreSQL: an upgrade keeps every user's
conversations and settings, and the migrations build exactly the schema the code uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from appdb.conversations import ConversationStore
from appdb.migrate import current_revision, upgrade
from appdb.models import Base
from appdb.user_settings import UserSettingsStore
from tests.db import engine_for


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async for engine in engine_for(request.param, tmp_path, migrate=False):
        yield engine


async def test_upgrade_from_the_first_revision_keeps_conversations_and_settings(
    empty_engine: AsyncEngine,
) -> None:
    await upgrade(empty_engine, "0001")
    assert await current_revision(empty_engine) == "0001"
    async with empty_engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO user_settings (user_id, model) VALUES ('@alice:localhost', 'llava:latest')")
        )
        for role, content in (("human", "my name is Zed"), ("ai", "Hello Zed")):
            await connection.execute(
                text(
                    "INSERT INTO conversation_messages (user_id, room_id, role, content) "
                    "VALUES ('@alice:localhost', '!dm:localhost', :role, :content)"
                ),
                {"role": role, "content": content},
            )

    await upgrade(empty_engine)
    assert await current_revision(empty_engine) == "0009"
    assert await UserSettingsStore(empty_engine).get_model("@alice:localhost") == "llava:latest"
    memory = ConversationStore(empty_engine, window_messages=10)
    assert await memory.recent("@alice:localhost", "!dm:localhost") == [
        ("human", "my name is Zed"),
        ("ai", "Hello Zed"),
    ]
    await memory.append_turn("@alice:localhost", "!dm:localhost", "still there?", "yes")


async def test_upgrading_twice_changes_nothing(empty_engine: AsyncEngine) -> None:
    await upgrade(empty_engine)
    await upgrade(empty_engine)
    assert await current_revision(empty_engine) == "0009"


async def test_migrations_build_the_schema_the_models_describe(empty_engine: AsyncEngine) -> None:
    await upgrade(empty_engine)

    def differences(connection):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(
            connection, opts={"include_name": lambda name, kind, parent: name != "migration_lock"}
        )
        return compare_metadata(context, Base.metadata)

    async with empty_engine.connect() as connection:
        assert await connection.run_sync(differences) == []
