"""What the browser is told about a Matrix event: a small, safe description built here, on
the server. Message HTML is sanitised before it leaves the portal, media point at the
portal's media proxy, and edits name the message they replace so the page can grow an
answer in place. Pure functions: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from common.matrix_html import sanitise
from common.reply_fallback import strip_reply_fallback
from portal.chat.names import short_name, skeleton
from portal.gallery.mxc import media_path

Event = Mapping[str, Any]
MEDIA_TYPES = {"m.image": "image", "m.video": "video"}
HTML_FORMAT = "org.matrix.custom.html"


def message_view(content: Mapping[str, Any], is_reply: bool = False) -> dict[str, Any]:
    """Body, sanitised HTML (if the sender gave any) and media of m.room.message content."""
    msgtype = content.get("msgtype")
    msgtype = msgtype if isinstance(msgtype, str) else "m.text"
    body = content.get("body")
    body = body if isinstance(body, str) else ""
    if is_reply:
        body = strip_reply_fallback(body)
    view: dict[str, Any] = {"msgtype": msgtype, "body": body, "html": None, "media": None}
    formatted = content.get("formatted_body")
    if content.get("format") == HTML_FORMAT and isinstance(formatted, str) and msgtype != "m.emote":
        view["html"] = sanitise(formatted)
    if msgtype in MEDIA_TYPES:
        info = content.get("info") if isinstance(content.get("info"), Mapping) else {}
        full = media_path(content.get("url"))
        thumb = media_path(info.get("thumbnail_url")) if info else None
        if full is None:  # encrypted media (`file`) cannot be fetched by the portal
            view["media"] = {"kind": MEDIA_TYPES[msgtype], "url": None}
        else:
            view["media"] = {
                "kind": MEDIA_TYPES[msgtype],
                "url": full,
                "thumb": thumb or (f"{full}?thumb=1" if msgtype == "m.image" else None),
                "width": _dimension(info.get("w")) if info else None,
                "height": _dimension(info.get("h")) if info else None,
            }
    return view


def _dimension(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 100_000 else None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _relation(content: Mapping[str, Any]) -> Mapping[str, Any]:
    return _mapping(content.get("m.relates_to"))


def _bundled_edit(event: Event) -> Event | None:
    unsigned = event.get("unsigned")
    relations = unsigned.get("m.relations") if isinstance(unsigned, Mapping) else None
    edit = relations.get("m.replace") if isinstance(relations, Mapping) else None
    return edit if isinstance(edit, Mapping) and "content" in edit else None


def describe(event: Event, names: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The browser's view of one timeline event, or None for events the chat does not show."""
    names = names or {}
    kind = event.get("type")
    sender, event_id, content = event.get("sender"), event.get("event_id"), event.get("content")
    if not isinstance(sender, str) or not isinstance(event_id, str) or not isinstance(content, Mapping):
        return None
    unsigned = _mapping(event.get("unsigned"))
    timestamp = event.get("origin_server_ts")
    txn = unsigned.get("transaction_id")
    base = {
        "id": event_id,
        "sender": sender,
        "sender_name": names.get(sender) or short_name(sender),
        "ts": timestamp if isinstance(timestamp, int) else 0,
        "txn": txn if isinstance(txn, str) else None,
    }
    if kind == "m.room.redaction":
        target = event.get("redacts") or content.get("redacts")
        return {**base, "type": "redaction", "target": target} if isinstance(target, str) else None
    if kind == "m.room.encrypted":
        return {**base, "type": "encrypted"}
    if kind == "m.room.member":
        return _membership(base, event, content)
    if kind != "m.room.message":
        return None
    if not content:  # redacted
        return {**base, "type": "message", "deleted": True, "msgtype": "m.text", "body": "", "html": None}
    relation = _relation(content)
    if relation.get("rel_type") == "m.replace":
        new = content.get("m.new_content")
        if not isinstance(new, Mapping):
            return None
        target = relation.get("event_id")
        return (
            {**base, "type": "edit", "target": target, **message_view(new)}
            if isinstance(target, str)
            else None
        )
    in_reply_to = _mapping(relation.get("m.in_reply_to")).get("event_id")
    reply_to = in_reply_to if isinstance(in_reply_to, str) else None
    view = message_view(content, is_reply=reply_to is not None)
    edit = _bundled_edit(event)
    if edit is not None and edit.get("sender") == sender:
        new = _mapping(edit.get("content")).get("m.new_content")
        if isinstance(new, Mapping):
            view = message_view(new)
    return {**base, "type": "message", "reply_to": reply_to, "edited": edit is not None, **view}


def _membership(base: dict[str, Any], event: Event, content: Mapping[str, Any]) -> dict[str, Any] | None:
    membership = content.get("membership")
    prev = _mapping(_mapping(event.get("unsigned")).get("prev_content")).get("membership")
    if membership == prev:  # a display-name or avatar change
        return None
    who = event.get("state_key")
    if not isinstance(who, str):
        return None
    displayname = content.get("displayname")
    name = displayname if isinstance(displayname, str) and displayname else short_name(who)
    if skeleton(name) != skeleton(short_name(who)):  # a chosen name: say whose it is
        name = f"{name} ({who})"
    words = {"join": "joined", "leave": "left", "invite": "was invited", "ban": "was banned"}
    if not isinstance(membership, str) or membership not in words:
        return None
    if membership == "leave" and who != base["sender"]:
        words["leave"] = "was removed"
    return {**base, "type": "membership", "member": who, "body": f"{name} {words[membership]}"}


def members_in(state: object) -> dict[str, str]:
    """user id → display name ("" when none) from a list of state events."""
    members: dict[str, str] = {}
    for event in state if isinstance(state, list) else []:
        if not isinstance(event, Mapping) or event.get("type") != "m.room.member":
            continue
        user_id, content = event.get("state_key"), _mapping(event.get("content"))
        if isinstance(user_id, str):
            name = content.get("displayname")
            members[user_id] = name if isinstance(name, str) else ""
    return members
