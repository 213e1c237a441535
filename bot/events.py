"""Events are data from other people, never trusted: this module turns one event's JSON
into a typed `Message`, or says it is no message (None) or malformed (`MalformedEvent`).
Nothing else in the bot reads another person's raw event JSON. Pure: no I/O.

Any JSON object is valid content to the homeserver, so every field is checked for the
shape the Matrix spec gives it (pydantic, strict types); a message that does not have
it is skipped whole rather than half-understood."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.values import EncryptedFile, MediaRef
from common.reply_fallback import strip_reply_fallback

MESSAGE_TYPE = "m.room.message"
REDACTION_TYPE = "m.room.redaction"
DEFAULT_IMAGE_MIMETYPE = "image/png"
DEFAULT_FILE_MIMETYPE = "application/octet-stream"
WITH_MEDIA = ("m.image", "m.file")


class MalformedEvent(ValueError):
    """The event claims to be a message but its JSON does not have a message's shape."""


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, populate_by_name=True)


class _InReplyTo(_Strict):
    event_id: str


class _Relation(_Strict):
    rel_type: str | None = None
    event_id: str | None = None
    in_reply_to: _InReplyTo | None = Field(None, alias="m.in_reply_to")


class _Mentions(_Strict):
    user_ids: list[str] = []
    room: bool = False


class _Key(_Strict):
    k: str


class _Hashes(_Strict):
    sha256: str


class _File(_Strict):
    url: str
    key: _Key
    iv: str
    hashes: _Hashes


class _Info(_Strict):
    mimetype: str | None = None
    size: int | None = Field(None, ge=0)


class _Content(_Strict):
    msgtype: str
    body: str
    relates_to: _Relation | None = Field(None, alias="m.relates_to")
    mentions: _Mentions | None = Field(None, alias="m.mentions")
    url: str | None = None
    file: _File | None = None
    info: _Info | None = None
    filename: str | None = None


class _Envelope(_Strict):
    type: str
    event_id: str
    sender: str
    origin_server_ts: int
    content: dict[str, Any]


@dataclass(frozen=True)
class Message:
    """An `m.room.message` as the bot understands it."""

    event_id: str
    sender: str
    timestamp_ms: int
    msgtype: str
    body: str  # for images: the caption, if any; for replies: without the quoted fallback
    mentioned_user_ids: tuple[str, ...] = ()
    is_edit: bool = False
    reply_to: str | None = None
    thread_root: str | None = None
    media: MediaRef | None = None
    file_name: str = ""  # for files: the name it was posted under


def parse_message(source: object) -> Message | None:
    """The message in `source` (an event's JSON), None when it is not a message (another
    event type, or a redacted message), or MalformedEvent when it claims to be one but
    does not have a message's shape."""
    try:
        envelope = _Envelope.model_validate(source)
    except ValidationError as error:
        raise MalformedEvent(_first_problem(error)) from None
    if envelope.type != MESSAGE_TYPE or not envelope.content:
        return None
    try:
        content = _Content.model_validate(envelope.content)
    except ValidationError as error:
        raise MalformedEvent(_first_problem(error)) from None
    relation = content.relates_to or _Relation.model_validate({})
    media = _media(content) if content.msgtype in WITH_MEDIA else None
    if content.msgtype in WITH_MEDIA and media is None:
        raise MalformedEvent(f"an {content.msgtype} with neither `url` nor `file`")
    return Message(
        event_id=envelope.event_id,
        sender=envelope.sender,
        timestamp_ms=envelope.origin_server_ts,
        msgtype=content.msgtype,
        body=plain_text(_caption(content) if media else strip_reply_fallback(content.body)),
        mentioned_user_ids=tuple(content.mentions.user_ids) if content.mentions else (),
        is_edit=relation.rel_type == "m.replace",
        reply_to=relation.in_reply_to.event_id if relation.in_reply_to else None,
        thread_root=relation.event_id if relation.rel_type == "m.thread" else None,
        media=media,
        file_name=plain_text(content.filename or content.body) if content.msgtype == "m.file" else "",
    )


def plain_text(text: str) -> str:
    """Text without the NUL characters no database column can hold."""
    return text.replace("\x00", "")


def parse_media(content: object) -> MediaRef | None:
    """The image in a message's content (one fetched by id, say), or None."""
    try:
        parsed = _Content.model_validate(content)
    except ValidationError:
        return None
    return _media(parsed) if parsed.msgtype == "m.image" else None


def _caption(content: _Content) -> str:
    """An image's body is its caption only when a separate `filename` is given."""
    return content.body if content.filename and content.filename != content.body else ""


def _media(content: _Content) -> MediaRef | None:
    info = content.info or _Info.model_validate({})
    default = DEFAULT_IMAGE_MIMETYPE if content.msgtype == "m.image" else DEFAULT_FILE_MIMETYPE
    mimetype = plain_text(info.mimetype or default)
    if content.file is not None:
        file = content.file
        encrypted = EncryptedFile(file.url, file.key.k, file.hashes.sha256, file.iv)
        return MediaRef(mimetype, file=encrypted, size=info.size)
    if content.url:
        return MediaRef(mimetype, url=content.url, size=info.size)
    return None


def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "event"
    return f"{where}: {first['msg']}"


@dataclass(frozen=True)
class Redaction:
    """Someone removed an earlier event (`redacts`) from the room."""

    event_id: str
    sender: str
    timestamp_ms: int
    redacts: str


class _RedactsContent(_Strict):
    redacts: str | None = None


class _RedactionEvent(_Strict):
    type: str
    event_id: str
    sender: str
    origin_server_ts: int
    redacts: str | None = None  # room versions before 11 keep it here
    content: _RedactsContent


def parse_redaction(source: object) -> Redaction | None:
    """The redaction in `source`, or None when it is no redaction (or not a usable one)."""
    try:
        event = _RedactionEvent.model_validate(source)
    except ValidationError:
        return None
    redacts = event.content.redacts or event.redacts
    if event.type != REDACTION_TYPE or not redacts:
        return None
    return Redaction(event.event_id, event.sender, event.origin_server_ts, redacts)


REACTION_TYPE = "m.reaction"


@dataclass(frozen=True)
class Reaction:
    """Someone reacted to an event (`about`) with `key` (an emoji, usually)."""

    event_id: str
    sender: str
    timestamp_ms: int
    about: str
    key: str


class _Annotation(_Strict):
    rel_type: str
    event_id: str
    key: str


class _ReactionContent(_Strict):
    relates_to: _Annotation = Field(alias="m.relates_to")


class _ReactionEvent(_Strict):
    type: str
    event_id: str
    sender: str
    origin_server_ts: int
    content: _ReactionContent


def parse_reaction(source: object) -> Reaction | None:
    """The reaction in `source`, or None when it is no (usable) reaction."""
    try:
        event = _ReactionEvent.model_validate(source)
    except ValidationError:
        return None
    relation = event.content.relates_to
    if event.type != REACTION_TYPE or relation.rel_type != "m.annotation":
        return None
    return Reaction(
        event.event_id, event.sender, event.origin_server_ts, relation.event_id, relation.key[:64]
    )


class _MemberContent(_Strict):
    membership: str


class _Unsigned(_Strict):
    prev_content: dict[str, Any] | None = None


class _MemberEvent(_Strict):
    type: str
    state_key: str
    origin_server_ts: int
    content: _MemberContent
    unsigned: _Unsigned | None = None


def own_join_time(source: object, user_id: str) -> int | None:
    """When `user_id` joined, if `source` is their join (not a profile change); else None."""
    try:
        event = _MemberEvent.model_validate(source)
    except ValidationError:
        return None
    if event.type != "m.room.member" or event.state_key != user_id or event.content.membership != "join":
        return None
    previous = (event.unsigned.prev_content if event.unsigned else None) or {}
    return None if previous.get("membership") == "join" else event.origin_server_ts
