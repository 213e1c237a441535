"""Messages the bot could not decrypt: ask for the keys, retry for a while, and then
post one clear notice per room, never one per message."""

from __future__ import annotations

from dataclasses import dataclass, field

from nio import MegolmEvent


@dataclass
class Waiting:
    room_id: str
    event: MegolmEvent
    first_seen: float


@dataclass
class UndecryptableTracker:
    grace_s: float
    waiting: dict[str, Waiting] = field(default_factory=dict)
    noticed_rooms: set[str] = field(default_factory=set)

    def add(self, room_id: str, event: MegolmEvent, now: float) -> bool:
        """Track `event`; True the first time it is seen (so keys get requested once)."""
        if event.event_id in self.waiting:
            return False
        self.waiting[event.event_id] = Waiting(room_id, event, now)
        return True

    def resolved(self, event_id: str) -> None:
        self.waiting.pop(event_id, None)

    def expired(self, now: float) -> list[str]:
        """Rooms that now get their one notice; their expired events are dropped."""
        rooms: list[str] = []
        for event_id, item in list(self.waiting.items()):
            if now - item.first_seen < self.grace_s:
                continue
            del self.waiting[event_id]
            if item.room_id not in self.noticed_rooms:
                self.noticed_rooms.add(item.room_id)
                rooms.append(item.room_id)
        return rooms
