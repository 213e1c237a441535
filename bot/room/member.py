"""What the room brings to one answer: its persona and notes (for the system prompt),
and, in a group room, the recent messages with their speakers and the asker's name."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.matrix_io import MatrixActionFailed, MatrixIO
from bot.room.context import RecentMessages
from bot.room.notes import RoomNotes
from bot.room.persona import Personas
from bot.room.prompt import room_instructions, with_speakers
from bot.values import ReplyTarget

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoomView:
    instructions: str = ""  # for the system prompt ("" when the room set nothing)
    group: bool = False
    asker_name: str = ""
    recent: list[str] = field(default_factory=list)

    def question(self, question: str) -> str:
        return with_speakers(question, self.asker_name, self.recent) if self.group else question

    def said_before(self, question: str) -> str:
        """A question from the person's memory, as the model sees it in this room."""
        return f"{self.asker_name}: {question}" if self.group else question


class RoomSide:
    def __init__(
        self,
        personas: Personas,
        notes: RoomNotes,
        recent: RecentMessages,
        matrix: MatrixIO,
        name: Callable[[str, str], str],
    ) -> None:
        self._personas = personas
        self._notes = notes
        self._recent = recent
        self._matrix = matrix
        self._name = name

    async def for_answer(self, target: ReplyTarget) -> RoomView:
        group = not self._matrix.is_direct(target.room_id)
        persona, notes, recent = await asyncio.gather(
            self._persona(target.room_id),
            self._notes.for_prompt(target.room_id),
            self._recent.lines(target) if group else _nothing(),
        )
        names = {note.author: self._name(target.room_id, note.author) for note in notes}
        return RoomView(
            room_instructions(persona, notes, names), group, self._name(target.room_id, target.asker), recent
        )

    async def persona(self, user_id: str, room_id: str, argument: str) -> str:
        return await self._personas.command(user_id, room_id, argument)

    async def remember(self, user_id: str, room_id: str, fact: str) -> str:
        return await self._notes.remember(user_id, room_id, fact)

    async def notes(self, room_id: str) -> str:
        return await self._notes.listing(room_id)

    async def forget(self, user_id: str, room_id: str, argument: str) -> str:
        return await self._notes.forget(user_id, room_id, argument)

    def persona_changed(self, room_id: str) -> None:
        self._personas.changed(room_id)

    async def _persona(self, room_id: str) -> str | None:
        try:
            persona = await self._personas.of(room_id)
        except MatrixActionFailed as error:  # answer without it rather than not at all
            log.warning("could not read the persona of %s: %s", room_id, error)
            return None
        return persona.prompt if persona else None


async def _nothing() -> list[str]:
    return []
