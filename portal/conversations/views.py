"""My AI conversations: what the assistant remembers about me, per room, and the way to
forget it. Only the owner ever sees these; the conversation store is the one owner of
what is remembered."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from common.matrix_ids import is_room_id
from portal.app_keys import CONVERSATIONS, MATRIX, SETTINGS, require_user
from portal.chat.direct_chats import direct_chat_with

HISTORY_LIMIT = 200
NO_CONVERSATION = "You have no conversation with the assistant there."
DIRECT_CHAT = "Direct chat with the assistant"


@aiohttp_jinja2.template("conversations.html")
async def conversations_page(request: web.Request) -> dict[str, Any]:
    user = require_user(request)
    matrix = request.app[MATRIX]
    conversations = [
        {
            "room_id": summary.room_id,
            "name": await matrix.room_name(user.access_token, summary.room_id)
            or "Direct chat with the assistant",
            "messages": summary.messages,
            "last": summary.last,
        }
        for summary in await request.app[CONVERSATIONS].overview(user.user_id)
    ]
    bot = request.app[SETTINGS].bot_user_id
    return {"conversations": conversations, "bot_link": f"https://matrix.to/#/{bot}"}


@aiohttp_jinja2.template("conversation.html")
async def conversation_page(request: web.Request) -> dict[str, Any]:
    user = require_user(request)
    room_id = request.match_info["room_id"]
    if not is_room_id(room_id):
        raise web.HTTPNotFound(text=NO_CONVERSATION)
    remembered = await request.app[CONVERSATIONS].messages(user.user_id, room_id, HISTORY_LIMIT)
    if not remembered:
        raise web.HTTPNotFound(text=NO_CONVERSATION)
    name = await request.app[MATRIX].room_name(user.access_token, room_id)
    rows = [(m.role, m.content, m.created_at) for m in remembered]
    return {"room_id": room_id, "name": name or DIRECT_CHAT, "messages": rows}


async def delete_conversation(request: web.Request) -> web.Response:
    user = require_user(request)
    await request.app[CONVERSATIONS].forget(user.user_id, request.match_info["room_id"])
    raise web.HTTPSeeOther("/conversations")


async def open_direct_chat(request: web.Request) -> web.Response:
    """Create the direct chat with the assistant if there is none, then open it in the chat."""
    user = require_user(request)
    room_id = await direct_chat_with(request.app[MATRIX], user, request.app[SETTINGS].bot_user_id)
    raise web.HTTPSeeOther(f"/chat#room={room_id}")
