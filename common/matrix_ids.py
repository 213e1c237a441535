"""The grammar of Matrix identifiers, and the one way to put one into a URL path.

Ids that reach us from other people (in events, forms and URLs) are checked here before
they are used in a request to the homeserver; every path segment is quoted with
`segment()`, which leaves no `/` and no `..` that could walk to another endpoint."""

from __future__ import annotations

import re
from urllib.parse import quote

MAX_ID_LENGTH = 255
_HOST = r"(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9][A-Za-z0-9.-]{0,252})"
SERVER_NAME = re.compile(rf"^{_HOST}(?::[0-9]{{1,5}})?$")
_SERVER = rf"{_HOST}(?::[0-9]{{1,5}})?"
MEDIA_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
ROOM_ID = re.compile(rf"^![A-Za-z0-9._~=+-]+(?::{_SERVER})?$")
EVENT_ID = re.compile(rf"^\$[A-Za-z0-9._~=+-]+(?::{_SERVER})?$")
USER_ID = re.compile(rf"^@[\x21-\x39\x3b-\x7e]+:{_SERVER}$")
ROOM_ALIAS = re.compile(rf"^#[^\s:]+:{_SERVER}$")
MXC = re.compile(rf"^mxc://(?P<server>{_SERVER})/(?P<media_id>[A-Za-z0-9_-]{{1,255}})$")


def _matches(pattern: re.Pattern[str], value: object) -> bool:
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH or pattern.match(value) is None:
        return False
    server = server_of(value) if value[:1] in "!$@#" else value
    return not server or _valid_port(server)


def is_server_name(value: object) -> bool:
    return _matches(SERVER_NAME, value)


def is_media_id(value: object) -> bool:
    return _matches(MEDIA_ID, value)


def is_room_id(value: object) -> bool:
    return _matches(ROOM_ID, value)


def is_event_id(value: object) -> bool:
    return _matches(EVENT_ID, value)


def is_user_id(value: object) -> bool:
    return _matches(USER_ID, value)


def is_room_alias(value: object) -> bool:
    return _matches(ROOM_ALIAS, value)


def parse_mxc(value: object) -> tuple[str, str] | None:
    """`mxc://server/media_id` → (server, media_id), or None unless both are well formed."""
    if not isinstance(value, str) or len(value) > 6 + 2 * MAX_ID_LENGTH:
        return None
    match = MXC.match(value)
    if match is None or not _valid_port(match["server"]):
        return None
    return match["server"], match["media_id"]


def server_of(user_id: str) -> str:
    """The server part of a user (or room, event) id; empty when there is none."""
    return user_id.split(":", 1)[1] if ":" in user_id else ""


def permalink(room_id: str, event_id: str, server: str) -> str:
    """A matrix.to link to one event (Element opens it at that message)."""
    room, event, via = (quote(part, safe="") for part in (room_id, event_id, server))
    return f"https://matrix.to/#/{room}/{event}?via={via}"


def segment(value: str) -> str:
    """`value` quoted as one URL path segment: `/`, `?`, `#`, `%` and the rest escaped."""
    return quote(value, safe="")


def _valid_port(server: str) -> bool:
    host, _, port = server.rpartition(":") if not server.endswith("]") else (server, "", "")
    if not host or "]" in port:
        return True
    return not port.isdigit() or 1 <= int(port) <= 65535
