"""My AI conversations: what the assistant remembers about me, per room, and the way to
forget it. Only the owner ever sees these."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from appdb.models import ConversationMessage
from common.matrix_ids import is_room_id
from portal.direct_chats import direct_chat_with
from portal.keys import DB_ENGINE, MATRIX, SETTINGS, require_user

HISTORY_LIMIT = 200


def _sessions(request: web.Request) -> async_sessionmaker:  # type: ignore[type-arg]
    return async_sessionmaker(request.app[DB_ENGINE], expire_on_commit=False)


@aiohttp_jinja2.template("conversations.html")
async def conversations_page(request: web.Request) -> dict[str, Any]:
    user = require_user(request)
    query = (
        select(ConversationMessage.room_id, func.count(), func.max(ConversationMessage.created_at))
        .where(ConversationMessage.user_id == user.user_id)
        .group_by(ConversationMessage.room_id)
        .order_by(func.max(ConversationMessage.created_at).desc())
    )
    async with _sessions(request)() as session:
        rows = (await session.execute(query)).all()
    matrix = request.app[MATRIX]
    conversations = [
        {
            "room_id": room_id,
            "name": await matrix.room_name(user.access_token, room_id) or "Direct chat with the assistant",
            "messages": count,
            "last": last,
        }
        for room_id, count, last in rows
    ]
    bot = request.app[SETTINGS].bot_user_id
    return {"conversations": conversations, "bot_link": f"https://matrix.to/#/{bot}"}


@aiohttp_jinja2.template("conversation.html")
async def conversation_page(request: web.Request) -> dict[str, Any]:
    user = require_user(request)
    room_id = request.match_info["room_id"]
    if not is_room_id(room_id):
        raise web.HTTPNotFound(text="You have no conversation with the assistant there.")
    query = (
        select(ConversationMessage.role, ConversationMessage.content, ConversationMessage.created_at)
        .where(ConversationMessage.user_id == user.user_id, ConversationMessage.room_id == room_id)
        .order_by(ConversationMessage.id.desc())
        .limit(HISTORY_LIMIT)
    )
    async with _sessions(request)() as session:
        rows = list(reversed((await session.execute(query)).all()))
    if not rows:
        raise web.HTTPNotFound(text="You have no conversation with the assistant there.")
    name = await request.app[MATRIX].room_name(user.access_token, room_id)
    return {"room_id": room_id, "name": name or "Direct chat with the assistant", "messages": rows}


async def delete_conversation(request: web.Request) -> web.Response:
    user = require_user(request)
    room_id = request.match_info["room_id"]
    async with _sessions(request).begin() as session:
        await session.execute(
            delete(ConversationMessage).where(
                ConversationMessage.user_id == user.user_id, ConversationMessage.room_id == room_id
            )
        )
    raise web.HTTPSeeOther("/conversations")


async def open_direct_chat(request: web.Request) -> web.Response:
    """Create the direct chat with the assistant if there is none, then open it in the chat."""
    user = require_user(request)
    room_id = await direct_chat_with(request.app[MATRIX], user, request.app[SETTINGS].bot_user_id)
    raise web.HTTPSeeOther(f"/chat#room={room_id}")
