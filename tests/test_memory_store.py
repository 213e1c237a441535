"""The memory store's contract, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from appdb.conversations import ConversationStore
from appdb.user_settings import UserSettingsStore
from tests.db import engine_for

ALICE, BOB = "@alice:localhost", "@bob:localhost"
DM, PUBLIC = "!dm:localhost", "!public:localhost"


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async for engine in engine_for(request.param, tmp_path):
        yield engine


async def test_turns_are_kept_per_user_and_room(engine: AsyncEngine) -> None:
    memory = ConversationStore(engine, window_messages=100)
    await memory.append_turn(ALICE, DM, "secret question", "secret answer")
    await memory.append_turn(ALICE, PUBLIC, "public question", "public answer")
    await memory.append_turn(BOB, DM, "bob question", "bob answer")

    assert await memory.recent(ALICE, DM) == [("human", "secret question"), ("ai", "secret answer")]
    assert await memory.recent(ALICE, PUBLIC) == [("human", "public question"), ("ai", "public answer")]
    assert await memory.recent(BOB, PUBLIC) == []


async def test_recent_reads_only_the_newest_window_in_order(engine: AsyncEngine) -> None:
    memory = ConversationStore(engine, window_messages=6)
    for i in range(50):
        await memory.append_turn(ALICE, DM, f"q{i}", f"a{i}")
    rows_fetched: list[int] = []

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def count_rows(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "conversation_messages" in statement:
            rows_fetched.append(1)

    recent = await memory.recent(ALICE, DM)
    event.remove(engine.sync_engine, "after_cursor_execute", count_rows)
    assert recent == [
        ("human", "q47"),
        ("ai", "a47"),
        ("human", "q48"),
        ("ai", "a48"),
        ("human", "q49"),
        ("ai", "a49"),
    ]
    assert rows_fetched == [1]  # one bounded query


async def test_pages_read_the_whole_conversation_oldest_first_a_bounded_page_at_a_time(
    engine: AsyncEngine,
) -> None:
    memory = ConversationStore(engine, window_messages=6)
    for i in range(7):
        await memory.append_turn(ALICE, DM, f"q{i}", f"a{i}")
        await memory.append_turn(BOB, DM, f"bob q{i}", f"bob a{i}")  # interleaved ids
    await memory.append_turn(ALICE, PUBLIC, "elsewhere", "elsewhere")
    rows_per_query: list[int] = []

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def count_rows(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "conversation_messages" in statement:
            rows_per_query.append(1)

    pages = [page async for page in memory.pages(ALICE, DM, page_size=4)]
    event.remove(engine.sync_engine, "after_cursor_execute", count_rows)

    assert [len(page) for page in pages] == [4, 4, 4, 2]
    flat = [(m.role, m.content) for page in pages for m in page]
    assert flat == [message for i in range(7) for message in (("human", f"q{i}"), ("ai", f"a{i}"))]
    assert all(m.created_at is not None for page in pages for m in page)
    assert len(rows_per_query) == 4  # one query per page (the short last page ends it)
    assert [page async for page in memory.pages(ALICE, "!never:localhost")] == []


async def test_reset_forgets_one_room_only(engine: AsyncEngine) -> None:
    memory = ConversationStore(engine, window_messages=100)
    await memory.append_turn(ALICE, DM, "q", "a")
    await memory.append_turn(ALICE, PUBLIC, "q", "a")
    assert await memory.forget(ALICE, DM) == 2
    assert await memory.recent(ALICE, DM) == []
    assert len(await memory.recent(ALICE, PUBLIC)) == 2


async def test_model_choice_is_per_user_and_can_change(engine: AsyncEngine) -> None:
    memory = UserSettingsStore(engine)
    assert await memory.get_model(ALICE) is None
    await memory.set_model(ALICE, "llava:latest")
    await memory.set_model(ALICE, "llama3:latest")
    await memory.set_model(BOB, "llava:latest")
    assert await memory.get_model(ALICE) == "llama3:latest"
    assert await memory.get_model(BOB) == "llava:latest"


async def test_concurrent_turns_from_many_users_are_all_stored(engine: AsyncEngine) -> None:
    memory = ConversationStore(engine, window_messages=10)
    users = [f"@u{i}:localhost" for i in range(20)]
    await asyncio.gather(*(memory.append_turn(user, DM, "q", "a") for user in users))
    for user in users:
        assert await memory.recent(user, DM) == [("human", "q"), ("ai", "a")]
