"""The media gallery: everything posted to #gallery (from here or from any Matrix
client), uploads that are streamed, checked by content in a worker process and shared as
the user, media served through the portal, and deletion of one's own posts. A person who
is not in #gallery (an account made in Element, say) is offered to join it."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import aiohttp_jinja2
from aiohttp import BodyPartReader, MultipartReader, web

from common.matrix_ids import is_event_id, is_media_id, is_server_name
from common.synapse_errors import Forbidden, NotFound, SynapseError
from portal.accounts.logins import PortalUser
from portal.app_keys import MATRIX, MEDIA_SLOTS, SETTINGS, UPLOADS_FOLDER, require_user
from portal.gallery.items import gallery_item
from portal.gallery.media_checks import CheckedImage
from portal.gallery.media_worker import MEDIA_CHECKER
from portal.gallery.upload_counts import UPLOAD_COUNTS, UploadCounts
from portal.security import MULTIPART
from portal.uploads import (
    CHUNK,
    STALLED,
    UploadRefused,
    file_chunks,
    receive,
    remove_quietly,
    safe_name,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 30
NO_SUCH_POST = "There is no such post."
MAX_FETCHES_PER_PAGE = 10
WRITE_TIMEOUT_S = 30.0  # a client that reads nothing for this long is cut off
READ_TIMEOUT_S = 60.0  # an upload that sends nothing for this long is dropped
INLINE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4", "video/webm"}
# Only messages with a `url` (media), so pages hold posts and the paging token is exact.
MEDIA_FILTER = '{"types":["m.room.message"],"contains_url":true,"lazy_load_members":true}'


class _NoGallery(Exception):
    """The person cannot see #gallery: it does not exist, or they are not in it."""

    def __init__(self, exists: bool) -> None:
        super().__init__("no gallery")
        self.exists = exists


def _gallery_alias(request: web.Request) -> str:
    return f"#gallery:{request.app[SETTINGS].server_name}"


async def _gallery_room(request: web.Request, user: PortalUser) -> str:
    """The gallery's room id, if the person is in it (someone who left it in Element can
    still read its old history, so being in it is checked, not assumed)."""
    matrix = request.app[MATRIX]
    try:
        room_id = await matrix.resolve_alias(user.access_token, _gallery_alias(request))
    except NotFound:
        raise _NoGallery(exists=False) from None
    if await matrix.membership(user.access_token, room_id, user.user_id) != "join":
        raise _NoGallery(exists=True)
    return room_id


def _no_gallery_page(request: web.Request, missing: _NoGallery) -> web.Response:
    context = {"alias": _gallery_alias(request), "exists": missing.exists}
    return aiohttp_jinja2.render_template(
        "gallery_join.html", request, context, status=200 if missing.exists else 404
    )


async def gallery_page(request: web.Request) -> web.Response:
    user = require_user(request)
    try:
        room_id = await _gallery_room(request, user)
        items, older = await _page_of_posts(request, user, room_id, request.query.get("from"))
    except _NoGallery as missing:
        return _no_gallery_page(request, missing)
    context = {"items": items, "next": older, "max_mb": request.app[SETTINGS].max_upload_mb}
    return aiohttp_jinja2.render_template("gallery.html", request, context)


async def _page_of_posts(
    request: web.Request, user: PortalUser, room_id: str, start: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to PAGE_SIZE posts, newest first, and the token for the older ones. Each fetch
    asks for no more events than the page still needs, so the token points right after
    the last post shown and paging never skips one."""
    items: list[dict[str, Any]] = []
    token = start
    more = False
    for _ in range(MAX_FETCHES_PER_PAGE):
        try:
            page = await request.app[MATRIX].messages(
                user.access_token, room_id, token, PAGE_SIZE - len(items), MEDIA_FILTER
            )
        except Forbidden:
            raise _NoGallery(exists=True) from None
        chunk = page.get("chunk")
        events = chunk if isinstance(chunk, list) else []
        items += [item for event in events if (item := gallery_item(event, user.user_id))]
        end = page.get("end")
        token = end if isinstance(end, str) else None
        more = bool(events) and token is not None
        if len(items) >= PAGE_SIZE or not more:
            break
    return items, token if more else None


def _event_id(request: web.Request) -> str:
    event_id = request.match_info["event_id"]
    if not is_event_id(event_id):
        raise web.HTTPNotFound(text=NO_SUCH_POST)
    return event_id


async def join_gallery(request: web.Request) -> web.Response:
    user = require_user(request)
    await request.app[MATRIX].join(user.access_token, _gallery_alias(request))
    raise web.HTTPSeeOther("/gallery")


async def viewer(request: web.Request) -> web.Response:
    """One post, full size: the image, or the video with its controls."""
    user = require_user(request)
    event_id = _event_id(request)
    try:
        room_id = await _gallery_room(request, user)
        event = await request.app[MATRIX].event(user.access_token, room_id, event_id)
    except _NoGallery as missing:
        return _no_gallery_page(request, missing)
    except (NotFound, Forbidden):
        raise web.HTTPNotFound(text=NO_SUCH_POST) from None
    item = gallery_item(event, user.user_id)
    if item is None:
        raise web.HTTPNotFound(text="That post has no image or video (it may have been deleted).")
    return aiohttp_jinja2.render_template("viewer.html", request, {"item": item})


def _remove_all(path: Path) -> None:
    """The upload and what its check wrote beside it."""
    remove_quietly(path, path.with_name(path.name + ".full"), path.with_name(path.name + ".thumb"))


async def _share(request: web.Request, user: PortalUser, path: Path, size: int, filename: str) -> str:
    checked = await request.app[MEDIA_CHECKER].check(path)
    matrix = request.app[MATRIX]
    token = user.access_token
    room_id = await _gallery_room(request, user)
    if isinstance(checked, CheckedImage):
        full_size = checked.path.stat().st_size
        url = await matrix.upload(token, file_chunks(checked.path), checked.mimetype, filename, full_size)
        thumb_bytes = checked.thumbnail_path.read_bytes()
        thumb = await matrix.upload(
            token, thumb_bytes, checked.thumbnail_mimetype, f"thumb-{filename}", len(thumb_bytes)
        )
        info: dict[str, Any] = {
            "mimetype": checked.mimetype,
            "size": full_size,
            "w": checked.width,
            "h": checked.height,
            "thumbnail_url": thumb,
            "thumbnail_info": {
                "mimetype": checked.thumbnail_mimetype,
                "size": len(thumb_bytes),
                "w": checked.thumbnail_width,
                "h": checked.thumbnail_height,
            },
        }
        content: dict[str, Any] = {"msgtype": "m.image", "body": filename, "url": url, "info": info}
    else:
        url = await matrix.upload(token, file_chunks(path), checked.mimetype, filename, size)  # streamed
        info = {"mimetype": checked.mimetype, "size": size}
        if checked.width and checked.height:
            info.update(w=checked.width, h=checked.height)
        if checked.thumbnail_path is not None:
            thumb_bytes = checked.thumbnail_path.read_bytes()
            info["thumbnail_url"] = await matrix.upload(
                token, thumb_bytes, "image/jpeg", f"thumb-{filename}.jpg", len(thumb_bytes)
            )
            info["thumbnail_info"] = {
                "mimetype": "image/jpeg",
                "size": len(thumb_bytes),
                "w": checked.thumbnail_width,
                "h": checked.thumbnail_height,
            }
        content = {"msgtype": "m.video", "body": filename, "url": url, "info": info}
    return await matrix.send(token, room_id, content, uuid.uuid4().hex)


async def upload(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    settings = request.app[SETTINGS]
    counts: UploadCounts = request.app[UPLOAD_COUNTS]
    limit = settings.max_upload_mb * 1024 * 1024
    allowance = settings.max_uploads_per_day - await counts.today(user.user_id)
    results: list[dict[str, str]] = []
    reader: MultipartReader = request.get(MULTIPART) or await request.multipart()
    while True:
        try:
            part = await asyncio.wait_for(reader.next(), READ_TIMEOUT_S)
        except TimeoutError:
            results.append({"file": "", "ok": "", "message": STALLED})
            break
        if part is None:
            break
        if not isinstance(part, BodyPartReader) or part.name != "files" or not part.filename:
            continue
        filename = safe_name(part.filename)
        if len(results) >= settings.max_files_per_upload or allowance <= 0:
            results.append({"file": filename, "ok": "", "message": _cap_message(settings, allowance)})
            break  # the rest of the body is not read
        path: Path | None = None
        try:
            path, size = await receive(part, request.app[UPLOADS_FOLDER], limit, READ_TIMEOUT_S)
            await _share(request, user, path, size, filename)
            await counts.record(user.user_id)
            allowance -= 1
            results.append({"file": filename, "ok": "yes", "message": "Shared in #gallery."})
        except UploadRefused as refusal:
            results.append({"file": filename, "ok": "", "message": str(refusal)})
            if path is None:
                break  # the rest of an oversized body is not read
        except _NoGallery:
            results.append({"file": filename, "ok": "", "message": "Join the gallery first, then share."})
            break
        except (SynapseError, OSError, aiohttp.ClientError) as error:
            log.warning("upload of %s failed: %s", filename, error)
            results.append(
                {"file": filename, "ok": "", "message": "The homeserver could not store it; try again."}
            )
        finally:
            if path is not None:
                _remove_all(path)
    if not results:
        results.append({"file": "", "ok": "", "message": "Choose at least one file to share."})
    status = 200 if all(r["ok"] for r in results) else 400
    if "application/json" in request.headers.get("Accept", ""):
        return web.json_response({"results": results}, status=status)
    return aiohttp_jinja2.render_template("upload_result.html", request, {"results": results}, status=status)


def _cap_message(settings: Any, allowance: int) -> str:
    if allowance <= 0:
        limit = settings.max_uploads_per_day
        return f"You have shared {limit} files today, the daily limit. Try again tomorrow."
    return f"At most {settings.max_files_per_upload} files can be shared at once; this one was not."


async def media(request: web.Request) -> web.StreamResponse:
    """Media from Synapse (which needs authentication), with a safe type and disposition.
    At most a few downloads per person at a time; a client that stops reading is cut off."""
    user = require_user(request)
    server, media_id = request.match_info["server"], request.match_info["media_id"]
    if not is_server_name(server) or not is_media_id(media_id):
        raise web.HTTPNotFound(text="There is no such picture or video.")
    slots = request.app[MEDIA_SLOTS]
    if not slots.try_take(user.user_id):
        raise web.HTTPTooManyRequests(text="You have many downloads running; wait for them to finish.")
    try:
        return await _relay_media(request, user, server, media_id)
    finally:
        slots.give_back(user.user_id)


async def _relay_media(
    request: web.Request, user: PortalUser, server: str, media_id: str
) -> web.StreamResponse:
    thumbnail = request.query.get("thumb") == "1"
    async with request.app[MATRIX].media_request(user.access_token, server, media_id, thumbnail) as upstream:
        if upstream.status != 200:
            raise web.HTTPNotFound(text="There is no such picture or video.")
        content_type = upstream.content_type
        inline = content_type in INLINE_TYPES
        response = web.StreamResponse(
            headers={
                "Content-Type": content_type if inline else "application/octet-stream",
                "Content-Disposition": "inline" if inline else "attachment",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Cache-Control": "private, max-age=3600",
            }
        )
        if upstream.content_length is not None:
            response.content_length = upstream.content_length
        await response.prepare(request)
        try:
            async for chunk in upstream.content.iter_chunked(CHUNK):
                await asyncio.wait_for(response.write(chunk), WRITE_TIMEOUT_S)
            await response.write_eof()
        except (TimeoutError, ConnectionError, aiohttp.ClientError) as error:
            log.info("media download for %s ended early: %r", user.user_id, error)
            if request.transport is not None:
                request.transport.close()
        return response


async def delete(request: web.Request) -> web.Response:
    user = require_user(request)
    event_id = _event_id(request)
    try:
        room_id = await _gallery_room(request, user)
    except _NoGallery as missing:
        return _no_gallery_page(request, missing)
    matrix = request.app[MATRIX]
    try:
        event = await matrix.event(user.access_token, room_id, event_id)
    except (NotFound, Forbidden):
        raise web.HTTPNotFound(text=NO_SUCH_POST) from None
    if event.get("sender") != user.user_id:
        raise web.HTTPForbidden(text="You can only delete your own posts.")
    await matrix.redact(user.access_token, room_id, event_id, uuid.uuid4().hex)
    raise web.HTTPSeeOther("/gallery")


async def upload_counts(app: web.Application) -> AsyncIterator[None]:
    app[UPLOAD_COUNTS] = UploadCounts(app)
    yield
