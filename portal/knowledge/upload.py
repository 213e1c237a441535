"""Adding a file to a room's knowledge from the portal: the form's room, then its file,
streamed to disk under `KNOWLEDGE_MAX_MB` and checked as it arrives; then uploaded to the
homeserver's media repository and posted in the room as an `m.file` message, as the
person. The bot reads it from there like any file posted in the room. Works without
JavaScript: a refusal is the page with the reason; a post leads back to the page."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

import aiohttp
from aiohttp import BodyPartReader, MultipartReader, web

from common.synapse_errors import Forbidden, SessionEnded, SynapseError, TooLarge
from portal.accounts.logins import PortalUser
from portal.app_keys import MATRIX, SETTINGS, UPLOADS_FOLDER, require_user
from portal.knowledge import strings
from portal.knowledge.file_kinds import ContentCheck, FileKind, kind_of
from portal.knowledge.rooms import Room, joined_room
from portal.knowledge.views import after_upload, render
from portal.security import CSRF_FIELD, MULTIPART
from portal.uploads import (
    STALLED,
    UploadRefused,
    UploadTooLarge,
    file_chunks,
    receive,
    remove_quietly,
    safe_name,
)

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 60.0  # an upload that sends nothing for this long is dropped
ROOM_FIELD_LIMIT = 512  # bytes: a room id is at most 255


class Refused(Exception):
    """An upload that is not posted: the message for the person, and the HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


async def upload(request: web.Request) -> web.Response:
    user = require_user(request)
    reader: MultipartReader = request.get(MULTIPART) or await request.multipart()
    chosen: str | None = None
    try:
        room = await _room(request, user, await _next_part(reader))
        chosen = room.room_id
        name = await _post(request, user, room, await _next_part(reader))
    except Refused as refused:
        return await render(request, error=str(refused), status=refused.status, chosen_room=chosen)
    return await after_upload(request, strings.POSTED.format(name=name, room=room.name), room.room_id)


async def _next_part(reader: MultipartReader) -> BodyPartReader | None:
    """The form's next field; the CSRF token, when it is still there, is passed over."""
    while True:
        try:
            part = await asyncio.wait_for(reader.next(), READ_TIMEOUT_S)
        except TimeoutError:
            raise Refused(STALLED) from None
        if part is None:
            return None
        if not isinstance(part, BodyPartReader):  # a form nested in the form
            raise Refused(strings.UNEXPECTED_FIELD)
        if part.name != CSRF_FIELD:
            return part


async def _room(request: web.Request, user: PortalUser, part: BodyPartReader | None) -> Room:
    """The chosen room, read before any of the file: one the person has joined, not
    encrypted, with the assistant in it."""
    if part is None or part.name != "room" or part.filename:
        raise Refused(strings.CHOOSE_A_ROOM)
    room_id = (await _small_field(part)).strip()
    bot = request.app[SETTINGS].bot_user_id
    room = await joined_room(request.app[MATRIX], user, room_id, bot) if room_id else None
    if room is None:
        raise Refused(strings.NOT_YOUR_ROOM if room_id else strings.CHOOSE_A_ROOM, 403 if room_id else 400)
    if room.encrypted:
        raise Refused(strings.ENCRYPTED_ROOM.format(room=room.name))
    if not room.assistant:
        raise Refused(strings.NO_ASSISTANT.format(room=room.name, bot=bot))
    return room


async def _small_field(part: BodyPartReader) -> str:
    data = b""
    try:
        while not part.at_eof() and len(data) <= ROOM_FIELD_LIMIT:
            data += await asyncio.wait_for(part.read_chunk(ROOM_FIELD_LIMIT), READ_TIMEOUT_S)
    except TimeoutError:
        raise Refused(STALLED) from None
    if not part.at_eof():  # no room id is this long: never buffer what follows
        raise Refused(strings.NOT_YOUR_ROOM, 403)
    return data.decode(errors="replace")


async def _post(request: web.Request, user: PortalUser, room: Room, part: BodyPartReader | None) -> str:
    """Receive the form's file, then share it in the room as the person; its name."""
    if part is None or part.name != "file" or not part.filename:
        raise Refused(strings.CHOOSE_A_FILE)
    name = safe_name(part.filename)
    kind = kind_of(name)
    if kind is None:
        raise Refused(strings.WRONG_KIND.format(name=name))
    check = ContentCheck(kind, name)
    path: Path | None = None
    try:
        limit = request.app[SETTINGS].knowledge_max_bytes
        path, size = await receive(part, request.app[UPLOADS_FOLDER], limit, READ_TIMEOUT_S, check)
        if size == 0:
            raise Refused(strings.EMPTY_FILE.format(name=name))
        check.finish()
        await _share(request, user, room, path, size, name, kind)
    except UploadTooLarge as refusal:
        raise Refused(str(refusal), 413) from None
    except UploadRefused as refusal:
        raise Refused(str(refusal)) from None
    finally:
        if path is not None:
            remove_quietly(path)
    return name


async def _share(
    request: web.Request, user: PortalUser, room: Room, path: Path, size: int, name: str, kind: FileKind
) -> str:
    matrix = request.app[MATRIX]
    try:
        url = await matrix.upload(user.access_token, file_chunks(path), kind.mimetype, name, size)
        content = {
            "msgtype": "m.file",
            "body": name,
            "filename": name,
            "info": {"mimetype": kind.mimetype, "size": size},
            "url": url,
        }
        return await matrix.send(user.access_token, room.room_id, content, uuid.uuid4().hex)
    except SessionEnded:
        raise  # the error pages send the person to log in again
    except TooLarge:
        raise Refused(strings.HOMESERVER_TOO_LARGE, 413) from None
    except Forbidden:
        raise Refused(strings.POST_REFUSED.format(room=room.name), 403) from None
    except (SynapseError, OSError, aiohttp.ClientError) as error:
        log.warning("posting %s in %s failed: %s", name, room.room_id, error)
        raise Refused(strings.NOT_STORED, 502) from None
