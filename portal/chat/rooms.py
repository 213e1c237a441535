"""The user's room list, kept from their sync responses: each room's name, kind (the AI
chat, a direct chat, a public room, another room), unread count and invitations, and who
is typing. Pure: it is fed sync JSON and answers questions, with no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from common.room_persona import PERSONA_EVENT_TYPE, Persona, persona_from_event
from portal.chat.names import labels, short_name

JsonDict = Mapping[str, Any]
PERSONA_SHOWN_CHARS = 200  # the room header shows a persona's beginning


@dataclass
class RoomState:
    room_id: str
    membership: str = "join"
    name: str | None = None
    alias: str | None = None
    join_rule: str | None = None
    heroes: list[str] = field(default_factory=list)
    members: dict[str, str] = field(default_factory=dict)  # user id → display name
    unread: int = 0
    highlights: int = 0
    inviter: str | None = None
    invited_direct: bool = False
    encrypted: bool = False
    last_ts: int = 0
    persona: Persona | None = None  # the assistant's, chosen by the room


def _rooms(section: object) -> list[tuple[str, JsonDict]]:
    """The (room id, data) pairs of one part of a sync's `rooms`."""
    return [(k, _mapping(v)) for k, v in _mapping(section).items() if isinstance(k, str)]


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _mapping(value: object) -> JsonDict:
    return value if isinstance(value, Mapping) else {}


def _state_events(section: JsonDict | None) -> list[JsonDict]:
    events = _mapping(section).get("events")
    return [e for e in events if isinstance(e, Mapping)] if isinstance(events, list) else []


def _shortened(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= PERSONA_SHOWN_CHARS else line[: PERSONA_SHOWN_CHARS - 1] + "…"


class RoomList:
    def __init__(self, me: str, bot: str) -> None:
        self.me = me
        self.bot = bot
        self.rooms: dict[str, RoomState] = {}
        self.direct: dict[str, str] = {}  # room id → the other person, from m.direct
        self.typing: dict[str, list[str]] = {}

    # --- feeding -------------------------------------------------------------------
    def apply(self, sync: JsonDict) -> tuple[set[str], set[str]]:
        """Take in one sync response; returns (rooms whose summary changed, rooms gone)."""
        changed: set[str] = set()
        gone: set[str] = set()
        for event in _state_events(sync.get("account_data")):
            if event.get("type") == "m.direct" and isinstance(event.get("content"), Mapping):
                self._set_direct(event["content"])
                changed.update(self.rooms)
        rooms = _mapping(sync.get("rooms"))
        for room_id, data in _rooms(rooms.get("join")):
            changed.add(room_id)
            self._apply_joined(self.rooms.setdefault(room_id, RoomState(room_id)), data)
        for room_id, data in _rooms(rooms.get("invite")):
            changed.add(room_id)
            self._apply_invite(self.rooms.setdefault(room_id, RoomState(room_id)), data)
        for room_id, _ in _rooms(rooms.get("leave")):
            if self.rooms.pop(room_id, None) is not None:
                gone.add(room_id)
            self.typing.pop(room_id, None)
        return changed - gone, gone

    def _set_direct(self, content: JsonDict) -> None:
        self.direct = {
            room_id: str(user_id)
            for user_id, room_ids in content.items()
            if isinstance(room_ids, list)
            for room_id in room_ids
            if isinstance(room_id, str)
        }

    def _apply_joined(self, room: RoomState, data: JsonDict) -> None:
        room.membership = "join"
        summary = _mapping(data.get("summary"))
        if isinstance(summary.get("m.heroes"), list):
            room.heroes = [str(h) for h in summary["m.heroes"]]
        timeline = _state_events(data.get("timeline"))
        for event in [*_state_events(data.get("state")), *timeline]:
            self._apply_state(room, event)
        for event in timeline:
            timestamp = event.get("origin_server_ts")
            room.last_ts = max(room.last_ts, timestamp if isinstance(timestamp, int) else 0)
        counts = _mapping(data.get("unread_notifications"))
        room.unread = _count(counts.get("notification_count"))
        room.highlights = _count(counts.get("highlight_count"))
        for event in _state_events(data.get("ephemeral")):
            if event.get("type") == "m.typing":
                ids = _mapping(event.get("content")).get("user_ids")
                ids = ids if isinstance(ids, list) else []
                self.typing[room.room_id] = [i for i in ids if isinstance(i, str) and i != self.me]

    def _apply_invite(self, room: RoomState, data: JsonDict) -> None:
        room.membership = "invite"
        for event in _state_events(data.get("invite_state")):
            self._apply_state(room, event)
            content = _mapping(event.get("content"))
            if event.get("type") == "m.room.member" and event.get("state_key") == self.me:
                room.inviter = str(event.get("sender", ""))
                room.invited_direct = bool(content.get("is_direct"))

    def _apply_state(self, room: RoomState, event: JsonDict) -> None:
        if not isinstance(event.get("state_key"), str):
            return
        kind, content = event.get("type"), _mapping(event.get("content"))
        if kind == "m.room.name":
            room.name = str(content.get("name") or "") or None
        elif kind == "m.room.canonical_alias":
            room.alias = str(content.get("alias") or "") or None
        elif kind == "m.room.encryption":
            room.encrypted = True  # encryption cannot be turned off again
        elif kind == PERSONA_EVENT_TYPE and event.get("state_key") == "":
            room.persona = persona_from_event(event, self.bot)
        elif kind == "m.room.join_rules":
            room.join_rule = str(content.get("join_rule") or "") or None
        elif kind == "m.room.member":
            user_id = str(event.get("state_key"))
            if content.get("membership") in ("join", "invite"):
                displayname = content.get("displayname")
                room.members[user_id] = displayname if isinstance(displayname, str) else ""
            else:
                room.members.pop(user_id, None)

    # --- questions -----------------------------------------------------------------
    def other_person(self, room: RoomState) -> str | None:
        if room.room_id in self.direct:
            return self.direct[room.room_id]
        if room.membership == "invite" and room.invited_direct:
            return room.inviter
        others = [h for h in room.heroes if h != self.me]
        if room.name is None and room.alias is None and len(others) == 1:
            return others[0]
        return None

    def kind(self, room: RoomState) -> str:
        other = self.other_person(room)
        if other == self.bot:
            return "ai"
        if other is not None:
            return "direct"
        return "public" if room.join_rule == "public" else "room"

    def display_name(self, room: RoomState) -> str:
        if room.name:
            return room.name
        if room.alias:
            return room.alias
        other = self.other_person(room)
        if other == self.bot:
            return "AI assistant"
        people = [other] if other else [h for h in room.heroes if h != self.me]
        shown = labels(room.members)
        named = [shown.get(p) or short_name(p) for p in people]
        return ", ".join(named) if named else "Empty room"

    def summary(self, room_id: str) -> dict[str, Any]:
        room = self.rooms[room_id]
        return {
            "id": room_id,
            "name": self.display_name(room),
            "kind": self.kind(room),
            "membership": room.membership,
            "inviter": room.inviter,
            "encrypted": room.encrypted,
            "unread": room.unread,
            "highlights": room.highlights,
            "last_ts": room.last_ts,
            "persona": _shortened(room.persona.prompt) if room.persona else None,
        }

    def summaries(self, room_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        ids = self.rooms.keys() if room_ids is None else [r for r in room_ids if r in self.rooms]
        return [self.summary(room_id) for room_id in ids]

    def typing_names(self, room_id: str) -> list[str]:
        room = self.rooms.get(room_id)
        shown = labels(room.members) if room else {}
        return [shown.get(user_id) or short_name(user_id) for user_id in self.typing.get(room_id, [])]

    def names(self) -> dict[str, str]:
        """What to call everyone in any room, for naming message senders: display names,
        with the user id where two could be mistaken for each other (`chat_names`)."""
        known: dict[str, str] = {}
        for room in self.rooms.values():
            known.update(room.members)
        return labels(known)
