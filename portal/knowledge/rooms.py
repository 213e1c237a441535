"""The rooms a person can give knowledge to, as the Room knowledge page shows them: the
rooms they have joined, each with a name, whether it is encrypted and whether the
assistant is there; and whether they moderate a room (`power_levels` decides).
Everything is read with the person's own token, so the homeserver decides what they see."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from common.matrix_ids import is_room_alias, is_room_id
from common.power_levels import may_redact_others
from common.synapse_errors import Forbidden, NotFound
from portal.accounts.logins import PortalUser
from portal.chat.names import labels
from portal.knowledge import strings
from portal.matrix import UserMatrix

log = logging.getLogger(__name__)

LOOKUPS_AT_ONCE = 8  # rooms described in parallel, so a person in many rooms waits less
NAMES_SHOWN = 3  # people named in the name of a room without one
MAX_NAME_CHARS = 80  # a room's name is anyone's text, of any length


@dataclass(frozen=True)
class Room:
    room_id: str
    name: str
    encrypted: bool
    assistant: bool  # the bot is in the room, or invited to it


async def joined_rooms(matrix: UserMatrix, user: PortalUser, bot: str) -> list[Room]:
    """The person's joined rooms, by name."""
    room_ids = await matrix.joined_rooms(user.access_token)
    turns = asyncio.Semaphore(LOOKUPS_AT_ONCE)

    async def one(room_id: str) -> Room | None:
        async with turns:
            return await _describe(matrix, user, room_id, bot)

    found = await asyncio.gather(*(one(room_id) for room_id in room_ids if is_room_id(room_id)))
    return sorted((room for room in found if room), key=lambda room: (room.name.casefold(), room.room_id))


async def joined_room(matrix: UserMatrix, user: PortalUser, room_id: str, bot: str) -> Room | None:
    """The room, if `room_id` is one the person has joined; None for any other id."""
    if not is_room_id(room_id) or not await is_joined(matrix, user, room_id):
        return None
    return await _describe(matrix, user, room_id, bot)


async def is_joined(matrix: UserMatrix, user: PortalUser, room_id: str) -> bool:
    return await matrix.membership(user.access_token, room_id, user.user_id) == "join"


async def _describe(matrix: UserMatrix, user: PortalUser, room_id: str, bot: str) -> Room | None:
    token = user.access_token
    try:
        name, encrypted, bot_membership = await asyncio.gather(
            _name(matrix, user, room_id, bot),
            matrix.is_encrypted(token, room_id),
            matrix.membership(token, room_id, bot),
        )
    except (Forbidden, NotFound) as error:  # left between the list and the look-up
        log.info("room %s could not be read: %s", room_id, error)
        return None
    shown = name if len(name) <= MAX_NAME_CHARS else name[: MAX_NAME_CHARS - 1] + "…"
    return Room(room_id, shown, encrypted, bot_membership in {"join", "invite"})


async def _name(matrix: UserMatrix, user: PortalUser, room_id: str, bot: str) -> str:
    """Its name; else its address; else the people in it, as the chat names them."""
    name = await matrix.room_name(user.access_token, room_id)
    if name:
        return name
    alias = (await matrix.state(user.access_token, room_id, "m.room.canonical_alias") or {}).get("alias")
    if is_room_alias(alias):
        return str(alias)
    members = await matrix.joined_members(user.access_token, room_id)
    return unnamed_room_name(members, user.user_id, bot)


def unnamed_room_name(members: Mapping[str, str], me: str, bot: str) -> str:
    """A room without a name or address, called after the others in it. Pure."""
    others = {user_id: name for user_id, name in members.items() if user_id != me}
    if set(others) == {bot}:
        return strings.DIRECT_CHAT_WITH_ASSISTANT
    shown = labels(others)
    names = sorted(shown[user_id] for user_id in others if user_id != bot)
    if not names:
        return strings.EMPTY_ROOM
    if len(names) <= NAMES_SHOWN:
        return ", ".join(names)
    return strings.AND_OTHERS.format(names=", ".join(names[:NAMES_SHOWN]), count=len(names) - NAMES_SHOWN)


async def moderates(matrix: UserMatrix, user: PortalUser, room_id: str) -> bool:
    """Whether the person may remove others' messages in the room (power_levels)."""
    token = user.access_token
    levels, create = await asyncio.gather(
        matrix.state(token, room_id, "m.room.power_levels"),
        matrix.state(token, room_id, "m.room.create", whole_event=True),
    )
    return may_redact_others(levels, create, user.user_id)
