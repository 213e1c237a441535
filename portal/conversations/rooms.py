"""The rooms of "My AI conversations": for each room where the person has a conversation
with the assistant, what is private (that conversation, from the conversation store) and
what the room shares with everyone in it (its notes, from the room notes store, and its
assistant persona, a room state event). The shared part is read only for a room the
person is in now, checked with their own token, so the homeserver decides."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from appdb.conversations import Summary
from appdb.room_notes import RoomNotesStore
from common.room_persona import PERSONA_EVENT_TYPE, Persona, persona_from_event
from common.synapse_errors import SynapseError
from portal.accounts.logins import PortalUser
from portal.conversations import strings
from portal.matrix import UserMatrix

log = logging.getLogger(__name__)

LOOKUPS_AT_ONCE = 8  # rooms read in parallel, so a person in many rooms waits less


@dataclass(frozen=True)
class ShownNote:
    author: str
    text: str
    added: str  # when, as shown


@dataclass(frozen=True)
class Shared:
    notes: list[ShownNote]
    persona: Persona | None


@dataclass(frozen=True)
class ConversationRoom:
    room_id: str
    name: str
    messages: int
    last: datetime | None
    shared: Shared | None  # None: not shown, for the reason in `why_not_shared`
    why_not_shared: str = ""


async def conversation_rooms(
    matrix: UserMatrix, notes: RoomNotesStore, user: PortalUser, summaries: list[Summary], bot: str
) -> list[ConversationRoom]:
    """Each room of the person's conversations, in the order given."""
    turns = asyncio.Semaphore(LOOKUPS_AT_ONCE)

    async def one(summary: Summary) -> ConversationRoom:
        async with turns:
            return await _room(matrix, notes, user, summary, bot)

    return list(await asyncio.gather(*(one(summary) for summary in summaries)))


async def _room(
    matrix: UserMatrix, notes: RoomNotesStore, user: PortalUser, summary: Summary, bot: str
) -> ConversationRoom:
    token, room_id = user.access_token, summary.room_id
    name = await matrix.room_name(token, room_id) or strings.DIRECT_CHAT
    shared: Shared | None = None
    why_not = ""
    try:
        if await matrix.membership(token, room_id, user.user_id) == "join":
            shared = await shared_part(matrix, notes, token, room_id, bot)
        else:
            why_not = strings.NOT_A_MEMBER
    except SynapseError as error:
        log.info("the shared part of %s could not be read: %s", room_id, error)
        why_not = strings.SHARED_UNAVAILABLE
    return ConversationRoom(room_id, name, summary.messages, summary.last, shared, why_not)


async def shared_part(
    matrix: UserMatrix, notes: RoomNotesStore, token: str, room_id: str, bot: str
) -> Shared:
    """The room's notes and persona. The caller has checked that the person is in the room."""
    event, listed = await asyncio.gather(
        matrix.state(token, room_id, PERSONA_EVENT_TYPE, whole_event=True), notes.notes(room_id)
    )
    shown = [ShownNote(note.author, note.text, _when(note.created_ms)) for note in listed]
    return Shared(shown, persona_from_event(event, bot))


def _when(ms: int) -> str:
    try:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):  # a time no calendar holds
        return ""
