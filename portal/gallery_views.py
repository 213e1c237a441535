"""The media gallery: everything posted to #gallery (from here or from any Matrix
client), uploads that are streamed, checked by content and shared as the user, media
served through the portal, and deletion of one's own posts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiofiles
import aiofiles.os
import aiohttp_jinja2
from aiohttp import BodyPartReader, web

from common.synapse_admin import SynapseError
from portal.keys import MATRIX, SETTINGS, require_user
from portal.logins import PortalUser
from portal.media_checks import CheckedImage, UploadRefused, check_upload
from portal.mxc import media_path

log = logging.getLogger(__name__)

PAGE_SIZE = 30
CHUNK = 256 * 1024
MEDIA_TYPES = {"m.image", "m.video"}
INLINE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4", "video/webm"}


async def _gallery_room(request: web.Request, user: PortalUser) -> str:
    alias = f"#gallery:{request.app[SETTINGS].server_name}"
    return await request.app[MATRIX].resolve_alias(user.access_token, alias)


def _item(event: dict[str, Any], viewer: str) -> dict[str, Any] | None:
    content = event.get("content", {})
    if event.get("type") != "m.room.message" or content.get("msgtype") not in MEDIA_TYPES:
        return None
    full = media_path(str(content.get("url", "")))
    if full is None:
        return None
    info = content.get("info") or {}
    thumb = media_path(str(info.get("thumbnail_url", ""))) or (full + "?thumb=1")
    return {
        "event_id": event["event_id"],
        "kind": "video" if content["msgtype"] == "m.video" else "image",
        "title": str(content.get("body", "")),
        "full": full,
        "thumb": thumb if content["msgtype"] == "m.image" or info.get("thumbnail_url") else None,
        "sender": event.get("sender", ""),
        "date": datetime.fromtimestamp(event.get("origin_server_ts", 0) / 1000, UTC),
        "mine": event.get("sender") == viewer,
    }


@aiohttp_jinja2.template("gallery.html")
async def gallery_page(request: web.Request) -> dict[str, Any]:
    user = require_user(request)
    room_id = await _gallery_room(request, user)
    items: list[dict[str, Any]] = []
    start = request.query.get("from")
    end = start
    # Read pages of the room until a page of the grid is full (other events are skipped).
    for _ in range(10):
        page = await request.app[MATRIX].messages(user.access_token, room_id, end, PAGE_SIZE * 2)
        items += [item for event in page.get("chunk", []) if (item := _item(event, user.user_id))]
        end = page.get("end")
        if len(items) >= PAGE_SIZE or not end or not page.get("chunk"):
            break
    return {
        "items": items[:PAGE_SIZE],
        "next": end if len(items) >= PAGE_SIZE else None,
        "max_mb": request.app[SETTINGS].max_upload_mb,
    }


@aiohttp_jinja2.template("viewer.html")
async def viewer(request: web.Request) -> dict[str, Any]:
    """One post, full size: the image, or the video with its controls."""
    user = require_user(request)
    room_id = await _gallery_room(request, user)
    try:
        event = await request.app[MATRIX].event(user.access_token, room_id, request.match_info["event_id"])
    except SynapseError:
        raise web.HTTPNotFound(text="No such post.") from None
    item = _item(event, user.user_id)
    if item is None:
        raise web.HTTPNotFound(text="That post has no image or video (it may have been deleted).")
    return {"item": item}


async def _receive(part: BodyPartReader, folder: Path, limit: int) -> tuple[Path, int]:
    """Stream one uploaded file to disk, never whole in memory; refuse past `limit` bytes."""
    fd, name = tempfile.mkstemp(dir=folder, prefix="upload-")
    os.close(fd)
    size = 0
    async with aiofiles.open(name, "wb") as out:
        while chunk := await part.read_chunk(CHUNK):
            size += len(chunk)
            if size > limit:
                await aiofiles.os.remove(name)
                raise UploadRefused(f"The file is larger than the {limit // 1024 // 1024} MB limit.")
            await out.write(chunk)
    return Path(name), size


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    async with aiofiles.open(path, "rb") as stream:
        while chunk := await stream.read(CHUNK):
            yield chunk


async def _share(request: web.Request, user: PortalUser, path: Path, size: int, filename: str) -> str:
    checked = await asyncio.to_thread(check_upload, path)  # Pillow work stays off the event loop
    matrix = request.app[MATRIX]
    token = user.access_token
    room_id = await _gallery_room(request, user)
    if isinstance(checked, CheckedImage):
        url = await matrix.upload(token, checked.data, checked.mimetype, filename, len(checked.data))
        thumb = await matrix.upload(
            token, checked.thumbnail, checked.thumbnail_mimetype, f"thumb-{filename}", len(checked.thumbnail)
        )
        content: dict[str, Any] = {
            "msgtype": "m.image",
            "body": filename,
            "url": url,
            "info": {
                "mimetype": checked.mimetype,
                "size": len(checked.data),
                "w": checked.width,
                "h": checked.height,
                "thumbnail_url": thumb,
                "thumbnail_info": {
                    "mimetype": checked.thumbnail_mimetype,
                    "size": len(checked.thumbnail),
                    "w": checked.thumbnail_width,
                    "h": checked.thumbnail_height,
                },
            },
        }
    else:
        url = await matrix.upload(token, _file_chunks(path), checked.mimetype, filename, size)  # streamed
        info: dict[str, Any] = {"mimetype": checked.mimetype, "size": size}
        if checked.width and checked.height:
            info.update(w=checked.width, h=checked.height)
        if checked.thumbnail:
            info["thumbnail_url"] = await matrix.upload(
                token, checked.thumbnail, "image/jpeg", f"thumb-{filename}.jpg", len(checked.thumbnail)
            )
            info["thumbnail_info"] = {
                "mimetype": "image/jpeg",
                "size": len(checked.thumbnail),
                "w": checked.thumbnail_width,
                "h": checked.thumbnail_height,
            }
        content = {"msgtype": "m.video", "body": filename, "url": url, "info": info}
    return await matrix.send(token, room_id, content, uuid.uuid4().hex)


def _safe_name(raw: str | None) -> str:
    name = Path(raw or "upload").name.strip() or "upload"
    return "".join(ch for ch in name if ch.isprintable() and ch not in '"\\/')[:120] or "upload"


async def upload(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    settings = request.app[SETTINGS]
    folder = settings.data_dir / "uploads-tmp"
    folder.mkdir(parents=True, exist_ok=True)
    limit = settings.max_upload_mb * 1024 * 1024
    results: list[dict[str, str]] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name != "files" or not part.filename:
            continue
        filename = _safe_name(part.filename)
        path: Path | None = None
        try:
            path, size = await _receive(part, folder, limit)
            await _share(request, user, path, size, filename)
            results.append({"file": filename, "ok": "yes", "message": "Shared in #gallery."})
        except UploadRefused as refusal:
            results.append({"file": filename, "ok": "", "message": str(refusal)})
            if path is None:
                break  # the rest of an oversized body is not read
        except (SynapseError, OSError) as error:
            log.warning("upload of %s failed: %s", filename, error)
            results.append(
                {"file": filename, "ok": "", "message": "The homeserver could not store it; try again."}
            )
        finally:
            if path is not None:
                with contextlib.suppress(OSError):
                    path.unlink()
    status = 200 if results and all(r["ok"] for r in results) else 400
    if "application/json" in request.headers.get("Accept", ""):
        return web.json_response({"results": results}, status=status)
    return aiohttp_jinja2.render_template("upload_result.html", request, {"results": results}, status=status)


async def media(request: web.Request) -> web.StreamResponse:
    """Media from Synapse (which needs authentication), with a safe type and disposition."""
    user = require_user(request)
    server, media_id = request.match_info["server"], request.match_info["media_id"]
    thumbnail = request.query.get("thumb") == "1"
    async with request.app[MATRIX].media_request(user.access_token, server, media_id, thumbnail) as upstream:
        if upstream.status != 200:
            raise web.HTTPNotFound(text="No such media.")
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
        async for chunk in upstream.content.iter_chunked(CHUNK):
            await response.write(chunk)
        await response.write_eof()
        return response


async def delete(request: web.Request) -> web.Response:
    user = require_user(request)
    event_id = request.match_info["event_id"]
    room_id = await _gallery_room(request, user)
    matrix = request.app[MATRIX]
    try:
        event = await matrix.event(user.access_token, room_id, event_id)
    except SynapseError:
        raise web.HTTPNotFound(text="No such post.") from None
    if event.get("sender") != user.user_id:
        raise web.HTTPForbidden(text="You can only delete your own posts.")
    await matrix.redact(user.access_token, room_id, event_id, uuid.uuid4().hex)
    raise web.HTTPSeeOther("/gallery")
