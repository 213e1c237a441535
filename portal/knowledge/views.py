"""The Room knowledge page: the person's rooms and the files of each room's knowledge
with their state, the upload form, and deleting a file (its message is removed as the
person, then the file is forgotten). A file of a room the person has not joined is
neither shown to them nor deleted by them."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from common.matrix_ids import is_event_id
from common.synapse_errors import Forbidden
from portal.accounts.logins import PortalUser
from portal.app_keys import KNOWLEDGE, MATRIX, SETTINGS, require_user
from portal.knowledge import strings
from portal.knowledge.file_kinds import ACCEPT
from portal.knowledge.files import may_delete, row
from portal.knowledge.rooms import Room, is_joined, joined_rooms, moderates
from portal.uploads import MB

# In the session, from an upload to the page it leads back to.
UPLOADED_NOTE = "knowledge_uploaded"
UPLOADED_ROOM = "knowledge_room"


async def knowledge_page(request: web.Request) -> web.Response:
    session = await get_session(request)
    notice = room = None
    if UPLOADED_NOTE in session:  # popped only when there, so other visits leave the cookie be
        notice, room = session.pop(UPLOADED_NOTE), session.pop(UPLOADED_ROOM, None)
    return await render(
        request,
        notice=notice if isinstance(notice, str) else None,
        chosen_room=room if isinstance(room, str) else None,
    )


async def after_upload(request: web.Request, notice: str, room_id: str) -> web.Response:
    """Back to the page, which says once what the upload did (so reloading it never posts
    the file again)."""
    session = await get_session(request)
    session[UPLOADED_NOTE], session[UPLOADED_ROOM] = notice, room_id
    raise web.HTTPSeeOther("/knowledge")


async def render(
    request: web.Request,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
    chosen_room: str | None = None,
) -> web.Response:
    """The page as it is now, with what an upload just did (`notice` or `error`)."""
    user = require_user(request)
    settings = request.app[SETTINGS]
    rooms = await joined_rooms(request.app[MATRIX], user, settings.bot_user_id)
    sections = [section for room in rooms if (section := await _section(request, user, room))]
    shown = {section["room"].room_id for section in sections}
    context: dict[str, Any] = {
        "notice": notice,
        "error": error,
        "sections": sections,
        "any_files": any(section["files"] for section in sections),
        "elsewhere": [room.name for room in rooms if room.room_id not in shown],
        "upload_rooms": [room for room in rooms if room.assistant and not room.encrypted],
        "chosen_room": chosen_room,
        "accept": ACCEPT,
        "max_mb": settings.knowledge_max_bytes // MB,
        "bot": settings.bot_user_id,
    }
    return aiohttp_jinja2.render_template("knowledge.html", request, context, status=status)


async def _section(request: web.Request, user: PortalUser, room: Room) -> dict[str, Any] | None:
    """One room's part of the page; None for a room without the assistant or files."""
    files = await request.app[KNOWLEDGE].files(room.room_id)
    if not files and not room.assistant:
        return None
    others = any(file.uploader != user.user_id for file in files)
    moderator = others and await moderates(request.app[MATRIX], user, room.room_id)
    return {"room": room, "files": [row(file, user.user_id, moderator) for file in files]}


async def delete_file(request: web.Request) -> web.Response:
    """Remove a file's message as the person, then forget the file. Only its uploader or
    a moderator of its room gets this far; the homeserver checks them again."""
    user = require_user(request)
    event_id = request.match_info["event_id"]
    store = request.app[KNOWLEDGE]
    matrix = request.app[MATRIX]
    file = await store.file(event_id) if is_event_id(event_id) else None
    if file is None or not await is_joined(matrix, user, file.room_id):
        raise web.HTTPNotFound(text=strings.NO_SUCH_FILE)
    moderator = file.uploader != user.user_id and await moderates(matrix, user, file.room_id)
    if not may_delete(file, user.user_id, moderator):
        raise web.HTTPForbidden(text=strings.NOT_YOURS)
    try:
        await matrix.redact(user.access_token, file.room_id, event_id, uuid.uuid4().hex)
    except Forbidden:
        raise web.HTTPForbidden(text=strings.REDACT_REFUSED) from None
    await store.remove(event_id)
    raise web.HTTPSeeOther("/knowledge")
