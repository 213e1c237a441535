"""Which of a room's messages one person (the asker) could read themselves, under the
Matrix spec's history visibility rules (client-server API, "History visibility"), so a
summary made for them holds nothing more. Pure: it walks events already parsed by
`bot.summary.history_events`, newest first, and yields the readable messages as it goes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from bot.summary.history_events import (
    HistoryEvent,
    MembershipChange,
    Said,
    Unreadable,
    VisibilityChange,
    parse_decrypted,
    parse_history_event,
)

__all__ = [
    "HistoryEvent",
    "MembershipChange",
    "ReadableWalk",
    "Said",
    "Unreadable",
    "VisibilityChange",
    "may_read",
    "parse_decrypted",
    "parse_history_event",
    "readable_by",
]

WORLD_READABLE = "world_readable"
SHARED = "shared"
INVITED = "invited"
JOINED = "joined"
JOIN = "join"
INVITE = "invite"
LEAVE = "leave"
_KNOWN_VISIBILITIES = frozenset({WORLD_READABLE, SHARED, INVITED, JOINED})
_VISIBILITY_BY_DEFAULT = SHARED  # the spec's, for a room with no visibility set
_MEMBERSHIP_BY_DEFAULT = LEAVE  # someone with no membership yet is not in the room


def may_read(visibility: str, membership_then: str, joined_now: bool) -> bool:
    """Whether someone whose membership was `membership_then` when a message was sent,
    under `visibility` then, may read it (`joined_now`: they are in the room now). A
    visibility the spec does not define counts as the strictest, `joined`."""
    if visibility not in _KNOWN_VISIBILITIES:
        visibility = JOINED
    if visibility == WORLD_READABLE or membership_then == JOIN:
        return True
    if visibility == SHARED:
        return joined_now
    return visibility == INVITED and membership_then == INVITE


class ReadableWalk:
    """The walk back through a room's events, one event at a time (for callers that fetch
    the events page by page): `step` says whether each message is readable by the asker.
    `visibility_now` and `membership_now` are the room's visibility and the asker's
    membership now; each change passed on the way back says what was in force before it."""

    def __init__(self, asker: str, visibility_now: str, membership_now: str) -> None:
        self._asker = asker
        self._visibility = visibility_now
        self._membership = membership_now
        self._joined_now = membership_now == JOIN

    def step(self, event: HistoryEvent) -> Said | Unreadable | None:
        """The next older event: the message if the asker may read it, else None."""
        if isinstance(event, VisibilityChange):
            self._visibility = _VISIBILITY_BY_DEFAULT if event.before is None else event.before
        elif isinstance(event, MembershipChange):
            if event.user_id == self._asker:
                self._membership = _MEMBERSHIP_BY_DEFAULT if event.before is None else event.before
        elif may_read(self._visibility, self._membership, self._joined_now):
            return event
        return None


def readable_by(
    asker: str, newest_first: Iterable[HistoryEvent], visibility_now: str, membership_now: str
) -> Iterator[Said | Unreadable]:
    """The messages of `newest_first` that `asker` may read, newest first. Lazy, O(1) memory."""
    walk = ReadableWalk(asker, visibility_now, membership_now)
    for event in newest_first:
        readable = walk.step(event)
        if readable is not None:
            yield readable
