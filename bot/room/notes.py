"""A room's shared notes: `!remember <fact>`, `!notes`, `!forget <n>` (its author or a
room moderator). The notes go to the model in their room only, apart from anyone's
private memory; `appdb/room_notes.py` keeps them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from appdb.room_notes import RoomNotesStore, RoomNoteView
from bot import strings
from bot.formatting import defuse_mentions
from bot.matrix_io import MatrixIO


@dataclass(frozen=True)
class NoteLimits:
    per_room: int = 100
    per_person: int = 30
    chars: int = 500


class RoomNotes:
    def __init__(
        self,
        store: RoomNotesStore,
        matrix: MatrixIO,
        name: Callable[[str, str], str],
        limits: NoteLimits = NoteLimits(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._matrix = matrix
        self._name = name  # (room, user) → how the room knows them
        self._limits = limits
        self._clock = clock

    async def for_prompt(self, room_id: str) -> list[RoomNoteView]:
        return await self._store.notes(room_id)

    async def remember(self, user_id: str, room_id: str, fact: str) -> str:
        fact = " ".join(fact.split())
        if not fact:
            return strings.NOTES_REMEMBER_USAGE
        if len(fact) > self._limits.chars:
            return strings.NOTES_TOO_LONG.format(limit=self._limits.chars, length=len(fact))
        if await self._store.count(room_id) >= self._limits.per_room:
            return strings.NOTES_ROOM_FULL.format(limit=self._limits.per_room)
        if await self._store.count_by(room_id, user_id) >= self._limits.per_person:
            return strings.NOTES_PERSON_FULL.format(limit=self._limits.per_person)
        await self._store.add(room_id, user_id, fact, int(self._clock() * 1000))
        count = await self._store.count(room_id)
        return strings.NOTES_REMEMBERED.format(number=count)

    async def listing(self, room_id: str) -> str:
        notes = await self._store.notes(room_id)
        if not notes:
            return strings.NOTES_NONE
        lines = [strings.NOTES_HEADER]
        for note in notes:
            name = self._name(room_id, note.author)
            lines.append(
                strings.NOTES_LINE.format(number=note.number, text=defuse_mentions(note.text), name=name)
            )
        return "\n".join(lines)

    async def forget(self, user_id: str, room_id: str, argument: str) -> str:
        wanted = argument.strip().lstrip("#")
        if not wanted.isdigit():
            return strings.NOTES_FORGET_USAGE
        notes = {note.number: note for note in await self._store.notes(room_id)}
        note = notes.get(int(wanted))
        if note is None:
            return strings.NOTES_NO_SUCH.format(number=wanted, count=len(notes))
        if note.author != user_id and not (await self._matrix.power(room_id)).may_redact_others(user_id):
            return strings.NOTES_NOT_YOURS.format(number=note.number)
        await self._store.remove(room_id, note.id)
        return strings.NOTES_FORGOTTEN.format(text=defuse_mentions(note.text))
