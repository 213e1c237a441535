"""A room's history as other people wrote it, parsed once into typed values: what was said,
what could not be decrypted, and the membership and history-visibility changes that decide
who may read it (`bot.summary.readable_history`). Nothing else reads these events' raw JSON. Pure.

Every value from outside is checked for the shape the Matrix spec gives it (pydantic,
strict types). A message without that shape is skipped (None): leaving one out of a summary
is harmless. A state change is not skipped for a malformed *value*, because the changes on
either side of it would then say the wrong thing about the messages around it: a value that
is not a string becomes `UNKNOWN`, which the reader treats as strictly as it can."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.events import plain_text
from common.reply_fallback import strip_reply_fallback

MAX_TEXT = 4000
UNKNOWN = ""  # a state value that is not a string: no membership, the strictest visibility
_CANONICAL_INT = 2**53 - 1  # the largest integer canonical JSON (so any event) may hold
_TEXT_KINDS = frozenset({"m.text", "m.notice", "m.emote"})
_FILE_KINDS = {"m.image": "image", "m.file": "file", "m.video": "video", "m.audio": "audio"}


@dataclass(frozen=True)
class Said:
    """A message with text (for a file: `[image: name]`, say), or an edit's new text."""

    event_id: str
    sender: str
    ts_ms: int
    text: str
    thread_root: str | None = None
    replaces: str | None = None


@dataclass(frozen=True)
class Unreadable:
    """An encrypted message the bot could not decrypt."""

    event_id: str
    sender: str
    ts_ms: int


@dataclass(frozen=True)
class MembershipChange:
    user_id: str
    membership: str
    before: str | None  # None: no membership before this one
    ts_ms: int


@dataclass(frozen=True)
class VisibilityChange:
    visibility: str
    before: str | None  # None: no visibility was set before this one
    ts_ms: int


HistoryEvent = Said | Unreadable | MembershipChange | VisibilityChange


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class _Envelope(_Strict):
    type: str
    event_id: str
    sender: str
    origin_server_ts: int = Field(ge=-_CANONICAL_INT, le=_CANONICAL_INT)
    content: dict[str, Any]
    state_key: str | None = None
    unsigned: Any = None  # the server's own notes; read leniently by `_before`


class _Relation(_Strict):
    rel_type: str | None = None
    event_id: str | None = None


class _Text(_Strict):
    msgtype: str
    body: str


class _MessageContent(_Text):
    relates_to: _Relation | None = Field(None, alias="m.relates_to")
    new_content: _Text | None = Field(None, alias="m.new_content")


class _EncryptedContent(_Strict):
    algorithm: str


def parse_history_event(source: object) -> HistoryEvent | None:
    """The event in `source` (its JSON from `/messages`), or None when it is malformed or
    not one of these kinds. Never raises."""
    try:
        event = _Envelope.model_validate(source)
    except ValidationError:
        return None
    if event.type == "m.room.message" and event.state_key is None:
        return parse_decrypted(event.event_id, event.sender, event.origin_server_ts, event.content)
    if event.type == "m.room.encrypted" and event.state_key is None:
        return _unreadable(event)
    if event.type == "m.room.member" and event.state_key is not None:
        membership = _value(event.content, "membership")
        before = _before(event.unsigned, "membership")
        return MembershipChange(event.state_key, membership, before, event.origin_server_ts)
    if event.type == "m.room.history_visibility" and event.state_key == "":
        visibility = _value(event.content, "history_visibility")
        before = _before(event.unsigned, "history_visibility")
        return VisibilityChange(visibility, before, event.origin_server_ts)
    return None  # another type, or a timeline event only dressed as a state change


def parse_decrypted(event_id: str, sender: str, ts_ms: int, content: object) -> Said | None:
    """The message in a decrypted event's `content`, or None (a redacted message, a kind
    with no text, a malformed one). Never raises."""
    try:
        parsed = _MessageContent.model_validate(content)
    except ValidationError:
        return None
    relation = parsed.relates_to or _Relation()
    if relation.rel_type in ("m.thread", "m.replace") and relation.event_id is None:
        return None
    if relation.rel_type == "m.replace":
        text = _text(parsed.new_content) if parsed.new_content else None
    else:
        text = _text(parsed)
    if text is None:
        return None
    thread_root = relation.event_id if relation.rel_type == "m.thread" else None
    replaces = relation.event_id if relation.rel_type == "m.replace" else None
    return Said(event_id, sender, ts_ms, text, thread_root=thread_root, replaces=replaces)


def _text(content: _Text) -> str | None:
    if content.msgtype in _TEXT_KINDS:
        return _clip(strip_reply_fallback(plain_text(content.body)))
    if content.msgtype in _FILE_KINDS:
        return _clip(f"[{_FILE_KINDS[content.msgtype]}: {plain_text(content.body)}]")
    return None


def _clip(text: str) -> str:
    """At most MAX_TEXT characters, the last one `…` when some were cut."""
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _unreadable(event: _Envelope) -> Unreadable | None:
    try:
        _EncryptedContent.model_validate(event.content)  # a redacted one has no algorithm
    except ValidationError:
        return None
    return Unreadable(event.event_id, event.sender, event.origin_server_ts)


def _value(content: dict[str, Any], key: str) -> str:
    value = content.get(key)
    return value if isinstance(value, str) else UNKNOWN


def _before(unsigned: Any, key: str) -> str | None:
    """`unsigned.prev_content[key]`: None when there was no earlier state event, UNKNOWN
    when the earlier one's value is missing or not a string."""
    if unsigned is None or (isinstance(unsigned, dict) and "prev_content" not in unsigned):
        return None
    previous = unsigned.get("prev_content") if isinstance(unsigned, dict) else None
    return _value(previous, key) if isinstance(previous, dict) else UNKNOWN
