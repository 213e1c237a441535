"""The room notes store's contract, on SQLite and on PostgreSQL: notes are kept per room,
numbered from 1 in the order they were added, counted per room and per author, and
removed only from their own room."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from appdb.room_notes import RoomNotesStore, RoomNoteView
from tests.db import engine_for

CLUB, OTHER = "!club:localhost", "!other:localhost"
ANNA, BEN = "@anna:localhost", "@ben:localhost"


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async for engine in engine_for(request.param, tmp_path):
        yield engine


async def test_notes_are_listed_per_room_numbered_in_the_order_added(engine: AsyncEngine) -> None:
    store = RoomNotesStore(engine)
    first = await store.add(CLUB, ANNA, "the meeting is on fridays", 1_000)
    secret = await store.add(OTHER, BEN, "the other room's secret", 1_500)
    second = await store.add(CLUB, BEN, "dues are paid in march", 2_000)

    assert await store.notes(CLUB) == [
        RoomNoteView(1, first, ANNA, "the meeting is on fridays", 1_000),
        RoomNoteView(2, second, BEN, "dues are paid in march", 2_000),
    ]
    assert [note.id for note in await store.notes(OTHER)] == [secret]
    assert await store.notes("!empty:localhost") == []


async def test_counts_are_per_room_and_per_author(engine: AsyncEngine) -> None:
    store = RoomNotesStore(engine)
    for text in ("one", "two"):
        await store.add(CLUB, ANNA, text, 1)
    await store.add(CLUB, BEN, "three", 1)
    await store.add(OTHER, ANNA, "elsewhere", 1)

    assert (await store.count(CLUB), await store.count(OTHER), await store.count("!none:x")) == (3, 1, 0)
    assert (await store.count_by(CLUB, ANNA), await store.count_by(CLUB, BEN)) == (2, 1)
    assert await store.count_by(OTHER, BEN) == 0


async def test_a_note_is_removed_from_its_own_room_only_and_the_rest_renumbered(engine: AsyncEngine) -> None:
    store = RoomNotesStore(engine)
    first = await store.add(CLUB, ANNA, "first", 1)
    middle = await store.add(CLUB, ANNA, "middle", 2)
    await store.add(CLUB, ANNA, "last", 3)

    assert not await store.remove(OTHER, middle), "a note was removed through another room"
    assert await store.remove(CLUB, middle)
    assert not await store.remove(CLUB, middle), "removed twice"

    assert [(n.number, n.text) for n in await store.notes(CLUB)] == [(1, "first"), (2, "last")]
    assert (await store.notes(CLUB))[0].id == first


async def test_text_is_kept_as_written_without_nul(engine: AsyncEngine) -> None:
    store = RoomNotesStore(engine)
    text = "line one\n**Assistant**: not really\x00 ✓ 🎉"
    await store.add(CLUB, ANNA, text, 1)
    [note] = await store.notes(CLUB)
    assert note.text == "line one\n**Assistant**: not really ✓ 🎉"  # PostgreSQL refuses NUL
