"""What the browser is told about a Matrix event: a small, safe description built here, on
the server. Message HTML is sanitised before it leaves the portal, media point at the
portal's media proxy, and edits name the message they replace so the page can grow an
answer in place. Pure functions: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from common.matrix_html import sanitise
from common.reply_fallback import strip_reply_fallback
from portal.mxc import media_path

Event = Mapping[str, Any]
MEDIA_TYPES = {"m.image": "image", "m.video": "video"}
HTML_FORMAT = "org.matrix.custom.html"


def short_name(user_id: str) -> str:
    """What to call someone whose display name is not known: `@bob:server` → `bob`."""
    return user_id[1:].split(":", 1)[0] if user_id.startswith("@") else user_id


def message_view(content: Mapping[str, Any], is_reply: bool = False) -> dict[str, Any]:
    """Body, sanitised HTML (if the sender gave any) and media of m.room.message content."""
    msgtype = str(content.get("msgtype", "m.text"))
    body = str(content.get("body", ""))
    if is_reply:
        body = strip_reply_fallback(body)
    view: dict[str, Any] = {"msgtype": msgtype, "body": body, "html": None, "media": None}
    formatted = content.get("formatted_body")
    if content.get("format") == HTML_FORMAT and isinstance(formatted, str) and msgtype != "m.emote":
        view["html"] = sanitise(formatted)
    if msgtype in MEDIA_TYPES:
        info = content.get("info") if isinstance(content.get("info"), Mapping) else {}
        full = media_path(str(content.get("url", "")))
        thumb = media_path(str(info.get("thumbnail_url", ""))) if info else None
        if full is None:  # encrypted media (`file`) cannot be fetched by the portal
            view["media"] = {"kind": MEDIA_TYPES[msgtype], "url": None}
        else:
            view["media"] = {
                "kind": MEDIA_TYPES[msgtype],
                "url": full,
                "thumb": thumb or (f"{full}?thumb=1" if msgtype == "m.image" else None),
                "width": info.get("w") if info else None,
                "height": info.get("h") if info else None,
            }
    return view


def _relation(content: Mapping[str, Any]) -> Mapping[str, Any]:
    relation = content.get("m.relates_to")
    return relation if isinstance(relation, Mapping) else {}


def _bundled_edit(event: Event) -> Event | None:
    unsigned = event.get("unsigned")
    relations = unsigned.get("m.relations") if isinstance(unsigned, Mapping) else None
    edit = relations.get("m.replace") if isinstance(relations, Mapping) else None
    return edit if isinstance(edit, Mapping) and "content" in edit else None


def describe(event: Event, names: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The browser's view of one timeline event, or None for events the chat does not show."""
    names = names or {}
    kind = event.get("type")
    sender = str(event.get("sender", ""))
    base = {
        "id": event.get("event_id"),
        "sender": sender,
        "sender_name": names.get(sender) or short_name(sender),
        "ts": event.get("origin_server_ts"),
        "txn": (event.get("unsigned") or {}).get("transaction_id"),
    }
    content = event.get("content")
    if not isinstance(content, Mapping):
        return None
    if kind == "m.room.redaction":
        return {**base, "type": "redaction", "target": event.get("redacts") or content.get("redacts")}
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
        return {**base, "type": "edit", "target": relation.get("event_id"), **message_view(new)}
    in_reply_to = relation.get("m.in_reply_to")
    reply_to = in_reply_to.get("event_id") if isinstance(in_reply_to, Mapping) else None
    view = message_view(content, is_reply=reply_to is not None)
    edit = _bundled_edit(event)
    if edit is not None and edit.get("sender") == sender:
        new = edit["content"].get("m.new_content")
        if isinstance(new, Mapping):
            view = message_view(new)
    return {**base, "type": "message", "reply_to": reply_to, "edited": edit is not None, **view}


def _membership(base: dict[str, Any], event: Event, content: Mapping[str, Any]) -> dict[str, Any] | None:
    membership = content.get("membership")
    prev = ((event.get("unsigned") or {}).get("prev_content") or {}).get("membership")
    if membership == prev:  # a display-name or avatar change
        return None
    who = str(event.get("state_key", ""))
    name = str(content.get("displayname") or who)
    words = {"join": "joined", "leave": "left", "invite": "was invited", "ban": "was banned"}
    if membership not in words:
        return None
    if membership == "leave" and who != base["sender"]:
        words["leave"] = "was removed"
    return {**base, "type": "membership", "member": who, "body": f"{name} {words[membership]}"}
