"""What the gallery shows of one event: a post with its media, or nothing. Events are
other people's JSON: anything malformed is skipped here, never a failed page. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from common.matrix_ids import is_event_id
from portal.gallery.mxc import media_path

MEDIA_TYPES = {"m.image": "image", "m.video": "video"}


def gallery_item(event: object, viewer: str) -> dict[str, Any] | None:
    """The gallery's view of one event, or None for anything that is not a media post."""
    if not isinstance(event, Mapping) or event.get("type") != "m.room.message":
        return None
    content, event_id, sender = event.get("content"), event.get("event_id"), event.get("sender")
    if not isinstance(content, Mapping) or not is_event_id(event_id) or not isinstance(sender, str):
        return None
    msgtype = content.get("msgtype")
    kind = MEDIA_TYPES.get(msgtype) if isinstance(msgtype, str) else None
    full = media_path(content.get("url"))
    if kind is None or full is None:
        return None
    info = content.get("info")
    info = info if isinstance(info, Mapping) else {}
    thumb = media_path(info.get("thumbnail_url"))
    if thumb is None and kind == "image":
        thumb = full + "?thumb=1"
    title = content.get("body")
    timestamp = event.get("origin_server_ts")
    moment = timestamp / 1000 if isinstance(timestamp, int) and 0 <= timestamp < 2**53 else 0
    return {
        "event_id": event_id,
        "kind": kind,
        "title": title if isinstance(title, str) else "",
        "full": full,
        "thumb": thumb,
        "sender": sender,
        "date": datetime.fromtimestamp(moment, UTC),
        "mine": sender == viewer,
    }
