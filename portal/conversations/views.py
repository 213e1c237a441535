"""My AI conversations: what the assistant remembers about me, per room, and the way to
forget it. Only the owner ever sees these; the conversation store is the one owner of
what is remembered."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from common.matrix_ids import is_room_id
from portal.app_keys import CONVERSATIONS, MATRIX, ROOM_NOTES, SETTINGS, require_user
from portal.chat.direct_chats import direct_chat_with
from portal.conversations import strings
from portal.conversations.rooms import conversation_rooms

HISTORY_LIMIT = 200


@aiohttp_jinja2.template("conversations.html")
async def conversations_page(request: web.Request) -> dict[str, Any]:
    user = require_user(request)
    bot = request.app[SETTINGS].bot_user_id
    summaries = await request.app[CONVERSATIONS].overview(user.user_id)
    rooms = await conversation_rooms(request.app[MATRIX], request.app[ROOM_NOTES], user, summaries, bot)
    return {"conversations": rooms, "bot_link": f"https://matrix.to/#/{bot}"}


@aiohttp_jinja2.template("conversation.html")
async def conversation_page(request: web.Request) -> dict[str, Any]:
    user = require_user(request)
    room_id = request.match_info["room_id"]
    if not is_room_id(room_id):
        raise web.HTTPNotFound(text=strings.NO_CONVERSATION)
    remembered = await request.app[CONVERSATIONS].messages(user.user_id, room_id, HISTORY_LIMIT)
    if not remembered:
        raise web.HTTPNotFound(text=strings.NO_CONVERSATION)
    name = await request.app[MATRIX].room_name(user.access_token, room_id)
    rows = [(m.role, m.content, m.created_at) for m in remembered]
    return {"room_id": room_id, "name": name or strings.DIRECT_CHAT, "messages": rows}


async def delete_conversation(request: web.Request) -> web.Response:
    user = require_user(request)
    await request.app[CONVERSATIONS].forget(user.user_id, request.match_info["room_id"])
    raise web.HTTPSeeOther("/conversations")


async def open_direct_chat(request: web.Request) -> web.Response:
    """Create the direct chat with the assistant if there is none, then open it in the chat."""
    user = require_user(request)
    room_id = await direct_chat_with(request.app[MATRIX], user, request.app[SETTINGS].bot_user_id)
    raise web.HTTPSeeOther(f"/chat#room={room_id}")
