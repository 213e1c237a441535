"""What a person may do in a room, by the spec's power rules: remove other people's
messages (their power level, from m.room.power_levels, is at least the room's `redact`
level), or change a kind of room state (at least that event type's level, or
`state_default`). In room version 12 and later the room's creators stand above every level; a room
without power levels gives its creator 100. Pure: it reads the two state events' JSON,
as the homeserver returned them, and trusts none of their fields' types."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_REDACT_LEVEL = 50
DEFAULT_STATE_LEVEL = 50  # `state_default` when the power levels do not say
# Room versions whose creators are ordinary members with a level (MSC4289 came in v12).
CREATORS_HAVE_LEVELS = frozenset(str(version) for version in range(1, 12))


def may_redact_others(
    levels: Mapping[str, Any] | None, create_event: Mapping[str, Any] | None, user_id: str
) -> bool:
    """`levels`: the m.room.power_levels content, None when the room has none;
    `create_event`: the whole m.room.create event (its sender is a creator)."""
    creators, creators_rank_highest = _creators(create_event)
    if creators_rank_highest and user_id in creators:
        return True
    if levels is None:  # the creator has 100, above the default `redact` level
        return user_id in creators
    return _own_level(levels, user_id) >= _level(levels.get("redact"), DEFAULT_REDACT_LEVEL)


def may_send_state(
    levels: Mapping[str, Any] | None, create_event: Mapping[str, Any] | None, user_id: str, event_type: str
) -> bool:
    """Whether `user_id` may set room state of `event_type` (the room's settings)."""
    creators, creators_rank_highest = _creators(create_event)
    if creators_rank_highest and user_id in creators:
        return True
    if levels is None:
        return user_id in creators
    events = levels.get("events")
    needed = events.get(event_type) if isinstance(events, Mapping) and event_type in events else None
    if needed is None:
        needed = levels.get("state_default")
    return _own_level(levels, user_id) >= _level(needed, DEFAULT_STATE_LEVEL)


def _own_level(levels: Mapping[str, Any], user_id: str) -> int:
    users = levels.get("users")
    if isinstance(users, Mapping) and user_id in users:
        return _level(users.get(user_id), 0)
    return _level(levels.get("users_default"), 0)


def _creators(create_event: Mapping[str, Any] | None) -> tuple[set[str], bool]:
    """The room's creators, and whether they rank above every power level."""
    create: Mapping[str, Any] = create_event if isinstance(create_event, Mapping) else {}
    content = create.get("content")
    if not isinstance(content, Mapping):
        content = {}
    named = [create.get("sender"), content.get("creator")]
    extra = content.get("additional_creators")
    named += extra if isinstance(extra, list) else []
    ranked = content.get("room_version", "1") not in CREATORS_HAVE_LEVELS
    return {user for user in named if isinstance(user, str)}, ranked


def _level(value: object, default: int) -> int:
    """A power level: an integer (rooms before version 10 may hold one as a string)."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value.strip())
    return default
