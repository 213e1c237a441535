"""A person's conversation with the assistant in one room, downloaded as Markdown or JSON
(`GET /conversations/{room_id}/export.md` or `.json`). Only their own: the store is asked
for this person's messages in that room, and a room where they have none (someone
else's conversation, or no conversation at all) is a 404 before anything is sent. The
file is streamed a page of messages at a time, so a long conversation costs one page of
memory, never its whole history."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from datetime import UTC, datetime

from aiohttp import web

from appdb.conversations import Remembered
from common.matrix_ids import is_room_id
from portal.app_keys import CONVERSATIONS, MATRIX, require_user
from portal.conversations import strings
from portal.conversations.export import FORMATS, ExportFormat, ExportHead, content_disposition

log = logging.getLogger(__name__)

PAGE_MESSAGES = 500


async def export_conversation(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    room_id = request.match_info["room_id"]
    export = FORMATS.get(request.match_info["kind"])
    if export is None or not is_room_id(room_id):
        raise web.HTTPNotFound(text=strings.NO_CONVERSATION)
    pages = request.app[CONVERSATIONS].pages(user.user_id, room_id, PAGE_MESSAGES)
    try:
        first = await anext(pages, None)
        if first is None:
            raise web.HTTPNotFound(text=strings.NO_CONVERSATION)
        name = await request.app[MATRIX].room_name(user.access_token, room_id) or strings.DIRECT_CHAT
        head = ExportHead(room_id, name, datetime.now(UTC))
        response = web.StreamResponse(headers=_headers(export, head))
        await response.prepare(request)
        try:
            await _write(response, export, head, first, pages)
        except ConnectionError as error:
            log.info("an export for %s ended early: %r", user.user_id, error)
        return response
    finally:
        await pages.aclose()


async def _write(
    response: web.StreamResponse,
    export: ExportFormat,
    head: ExportHead,
    page: list[Remembered] | None,
    pages: AsyncGenerator[list[Remembered], None],
) -> None:
    await response.write(_bytes(export.head(head)))
    written = 0
    while page is not None:
        parts = []
        for message in page:
            part = export.message(message, written)
            if part:
                parts.append(part)
                written += 1
        await response.write(_bytes("".join(parts)))
        page = await anext(pages, None)
    await response.write(_bytes(export.end(written)))
    await response.write_eof()


def _headers(export: ExportFormat, head: ExportHead) -> dict[str, str]:
    return {
        "Content-Type": export.content_type,
        "Content-Disposition": content_disposition(head.room_name, head.exported_at, export.extension),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    }


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", errors="replace")
