"""The portal chat: its page, and the small JSON API the page's script calls. Every call
acts with the logged-in user's own Matrix login, so the homeserver decides what they may
read and where they may write; this module checks input and turns homeserver errors into
sentences a person can act on."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from common.matrix_html import formatted_if_needed
from common.matrix_ids import is_event_id, is_room_alias, is_room_id, is_user_id
from common.ollama_catalogue import OllamaUnavailable
from portal.accounts.logins import PortalUser
from portal.ai_model.views import ModelRefused, save_choice
from portal.app_keys import (
    CONVERSATIONS,
    MATRIX,
    MODEL_CHOICE,
    SETTINGS,
    current_user,
    require_user,
)
from portal.chat import strings
from portal.chat.direct_chats import direct_chat_with, remember_direct_chat
from portal.chat.events import describe, members_in
from portal.chat.names import labels

HISTORY_PAGE = 30
MAX_MESSAGE_CHARS = 20_000
DIRECTORY_LIMIT = 50
TXN_ID = re.compile(r"^[A-Za-z0-9._~-]{1,64}$")
USERNAME = re.compile(r"^@?([a-z0-9._=/+-]+)(?::([A-Za-z0-9.:-]+))?$")
HISTORY_FILTER = json.dumps({"lazy_load_members": True})

JsonHandler = Callable[[web.Request, PortalUser], Awaitable[Any]]


class Refused(Exception):
    """Input the chat cannot act on; the message is shown to the user."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _error(message: str, status: int) -> web.Response:
    return web.json_response({"error": message}, status=status)


def json_api(handler: JsonHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Logged-in users only; JSON in and out; every failure is a JSON `{"error": ...}`
    (the homeserver's own, through the portal's error middleware)."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        user = current_user(request)
        if user is None:
            return _error(strings.LOG_IN_TO_CHAT, 401)
        try:
            return web.json_response(await handler(request, user))
        except Refused as refused:
            return _error(str(refused), refused.status)
        # The homeserver's errors become JSON in portal.errors, the one place that maps them.

    return wrapped


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise Refused(strings.NOT_JSON) from error
    if not isinstance(body, dict):
        raise Refused(strings.NOT_A_JSON_OBJECT)
    return body


def _room_id(request: web.Request) -> str:
    room_id = request.match_info["room_id"]
    if not is_room_id(room_id):
        raise Refused(strings.NOT_A_ROOM_ID, 404)
    return room_id


@aiohttp_jinja2.template("chat.html")
async def chat_page(request: web.Request) -> dict[str, Any]:
    require_user(request)
    return {}


async def ai_chat(request: web.Request) -> web.Response:
    """The AI chat: the direct chat with the assistant, created on first use (a POST: it
    may create a room)."""
    user = require_user(request)
    room_id = await direct_chat_with(request.app[MATRIX], user, request.app[SETTINGS].bot_user_id)
    raise web.HTTPSeeOther(f"/chat#room={room_id}")


@json_api
async def session(request: web.Request, user: PortalUser) -> dict[str, Any]:
    """Whether the page's login is still valid (401 otherwise), for a stream that failed."""
    return {"user_id": user.user_id}


@json_api
async def history(request: web.Request, user: PortalUser) -> dict[str, Any]:
    """One page of older messages, oldest first; `next` is where the page before starts."""
    room_id = _room_id(request)
    start = request.query.get("from") or None
    page = await request.app[MATRIX].messages(user.access_token, room_id, start, HISTORY_PAGE, HISTORY_FILTER)
    names = labels(members_in(page.get("state")))
    chunk = list(reversed([e for e in page.get("chunk") or [] if isinstance(e, dict)]))
    events = [d for d in (describe(e, names) for e in chunk) if d is not None]
    at_start = len(chunk) < HISTORY_PAGE or not page.get("end")
    return {"events": events, "next": None if at_start else page.get("end")}


@json_api
async def send_message(request: web.Request, user: PortalUser) -> dict[str, Any]:
    """Send a text message. The browser picks the transaction id, so a retry after a lost
    connection is stored once by the homeserver, not twice."""
    room_id = _room_id(request)
    body = await _json_body(request)
    text, txn = body.get("body"), body.get("txn")
    if not isinstance(txn, str) or not TXN_ID.match(txn):
        raise Refused(strings.NO_TRANSACTION_ID)
    if not isinstance(text, str) or not text.strip():
        raise Refused(strings.EMPTY_MESSAGE)
    if len(text) > MAX_MESSAGE_CHARS:
        raise Refused(strings.TOO_LONG.format(length=len(text), limit=MAX_MESSAGE_CHARS))
    matrix = request.app[MATRIX]
    if await matrix.is_encrypted(user.access_token, room_id):
        raise Refused(strings.ENCRYPTED_ROOM, 409)
    content = {"msgtype": "m.text", "body": text}
    # Markdown, as Element sends it; rendered off the event loop (hostile Markdown at the
    # length limit takes up to a tenth of a second).
    if (html := await asyncio.to_thread(formatted_if_needed, text)) is not None:
        content |= {"format": "org.matrix.custom.html", "formatted_body": html}
    event_id = await matrix.send(user.access_token, room_id, content, txn)
    return {"event_id": event_id}


@json_api
async def set_typing(request: web.Request, user: PortalUser) -> dict[str, Any]:
    room_id = _room_id(request)
    typing = (await _json_body(request)).get("typing")
    if not isinstance(typing, bool):
        raise Refused(strings.TYPING_FLAG)
    await request.app[MATRIX].set_typing(user.access_token, room_id, user.user_id, typing)
    return {}


@json_api
async def mark_read(request: web.Request, user: PortalUser) -> dict[str, Any]:
    room_id = _room_id(request)
    event_id = (await _json_body(request)).get("event_id")
    if not is_event_id(event_id):
        raise Refused(strings.NOT_AN_EVENT_ID)
    assert isinstance(event_id, str)
    await request.app[MATRIX].read_receipt(user.access_token, room_id, event_id)
    return {}


@json_api
async def join_room(request: web.Request, user: PortalUser) -> dict[str, Any]:
    """Join a room from the directory, or accept an invitation (a direct chat is then
    remembered as one, as Element does)."""
    body = await _json_body(request)
    room, direct_with = body.get("room"), body.get("direct_with")
    if not (is_room_id(room) or is_room_alias(room)):
        raise Refused(strings.CHOOSE_A_ROOM)
    assert isinstance(room, str)
    room_id = await request.app[MATRIX].join(user.access_token, room)
    if is_user_id(direct_with):
        assert isinstance(direct_with, str)
        await remember_direct_chat(request.app[MATRIX], user, direct_with, room_id)
    return {"room_id": room_id}


@json_api
async def start_direct_chat(request: web.Request, user: PortalUser) -> dict[str, Any]:
    """A direct chat with another user by username; the existing one if there is one."""
    server_name = request.app[SETTINGS].server_name
    wanted = (await _json_body(request)).get("username")
    match = USERNAME.match(wanted.strip().lower()) if isinstance(wanted, str) else None
    if match is None:
        raise Refused(strings.ENTER_A_USERNAME)
    user_id = f"@{match.group(1)}:{match.group(2) or server_name}"
    if user_id == user.user_id:
        raise Refused(strings.THAT_IS_YOU)
    if not await request.app[MATRIX].profile_exists(user.access_token, user_id):
        raise Refused(strings.NO_SUCH_USER.format(name=match.group(1)), 404)
    return {"room_id": await direct_chat_with(request.app[MATRIX], user, user_id)}


@json_api
async def directory(request: web.Request, user: PortalUser) -> dict[str, Any]:
    rooms = await request.app[MATRIX].public_rooms(user.access_token, DIRECTORY_LIMIT)
    return {"rooms": [entry for room in rooms if (entry := directory_entry(room)) is not None]}


def directory_entry(room: dict[str, Any]) -> dict[str, Any] | None:
    """One room of the public directory, with every field of the type the page expects."""
    room_id = room.get("room_id")
    if not is_room_id(room_id):
        return None

    def text(key: str) -> str | None:
        value = room.get(key)
        return value if isinstance(value, str) and value else None

    members = room.get("num_joined_members")
    return {
        "id": room_id,
        "name": text("name") or text("canonical_alias") or room_id,
        "alias": text("canonical_alias"),
        "topic": text("topic"),
        "members": members if isinstance(members, int) and not isinstance(members, bool) else 0,
    }


@json_api
async def models(request: web.Request, user: PortalUser) -> dict[str, Any]:
    current = await request.app[MODEL_CHOICE].current(user.user_id)
    try:
        names = await request.app[MODEL_CHOICE].offered_names()
    except OllamaUnavailable:
        return {"models": [], "current": current, "offline": True}
    return {"models": sorted(names), "current": current, "offline": False}


@json_api
async def choose_model(request: web.Request, user: PortalUser) -> dict[str, Any]:
    wanted = (await _json_body(request)).get("model")
    try:
        return {"current": await save_choice(request, user, wanted)}
    except ModelRefused as refused:
        raise Refused(str(refused), refused.status) from refused


@json_api
async def forget_conversation(request: web.Request, user: PortalUser) -> dict[str, Any]:
    """The AI chat's "Forget this conversation": the assistant's memory of this room, for
    this person, is deleted (the same as `!reset` or the conversations page)."""
    forgotten = await request.app[CONVERSATIONS].forget(user.user_id, _room_id(request))
    return {"forgotten": forgotten}
