"""A room's shared notes: facts the room asked the assistant to remember (`!remember`),
each with who added it and when. The one store that reads and writes them: the bot adds,
lists and removes them and gives them to the model in that room only; the portal's "My
AI conversations" page shows them to the room's members. Per-room and per-person caps
are the caller's rule, read with `count` and `count_by`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from appdb.models import RoomNote


@dataclass(frozen=True)
class RoomNoteView:
    number: int  # its place in the room's list, from 1 (what `!forget <n>` names)
    id: int
    author: str
    text: str
    created_ms: int


class RoomNotesStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def add(self, room_id: str, author: str, text: str, now_ms: int) -> int:
        """Store a note; returns its id."""
        note = RoomNote(room_id=room_id, author=author, text=text.replace("\x00", ""), created_ms=now_ms)
        async with self._sessions.begin() as session:
            session.add(note)
            await session.flush()
            return int(note.id)

    async def notes(self, room_id: str) -> list[RoomNoteView]:
        """The room's notes, oldest first, numbered from 1."""
        query = (
            select(RoomNote.id, RoomNote.author, RoomNote.text, RoomNote.created_ms)
            .where(RoomNote.room_id == room_id)
            .order_by(RoomNote.id)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [RoomNoteView(n, id_, author, text, ms) for n, (id_, author, text, ms) in enumerate(rows, 1)]

    async def remove(self, room_id: str, note_id: int) -> bool:
        """Remove one note of this room; False when the room has no such note."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(RoomNote).where(RoomNote.room_id == room_id, RoomNote.id == note_id)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def count_by(self, room_id: str, author: str) -> int:
        return await self._count(RoomNote.room_id == room_id, RoomNote.author == author)

    async def count(self, room_id: str) -> int:
        return await self._count(RoomNote.room_id == room_id)

    async def _count(self, *conditions: ColumnElement[bool]) -> int:
        query = select(func.count()).select_from(RoomNote).where(*conditions)
        async with self._sessions() as session:
            return int((await session.execute(query)).scalar_one())
