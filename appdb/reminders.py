"""Reminders and the time zones they are computed in: the one store that reads and
writes them. The bot adds a reminder (idempotently, by the message that set it, within
the room's and the person's caps), lists and cancels a room's, and its scheduler claims
each due firing before posting it and marks it fired after (a one-off is done, a
recurring one moves to its next instant). Done reminders are kept a while, so a job
resumed after a crash finds the reminder its message set, then forgotten. When a
recurring reminder is next due is the caller's rule (`latest_due`); the store only
keeps the numbers.

A claimed reminder (`sending`) may already have been posted: whoever finds it after a
restart posts it again with the same transaction id, so the homeserver stores it once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from appdb.conversations import InTransaction
from appdb.models import (
    REMINDER_ACTIVE,
    REMINDER_DONE,
    REMINDER_SENDING,
    PersonTimeZone,
    Reminder,
    RoomTimeZone,
)

# (rule, time zone, the instant it was due, now) → its latest instant not after now.
LatestDue = Callable[[str, str, int, int], int]
# (reminder id, the instant posted, its next instant or None): a firing to mark done.
Fired = tuple[int, int, int | None]
LIVE = (REMINDER_ACTIVE, REMINDER_SENDING)


@dataclass(frozen=True)
class NewReminder:
    event_id: str  # the message that set it
    room_id: str
    author: str
    text: str
    mention: bool
    rule: str | None
    time_zone: str
    due_ms: int
    created_ms: int


@dataclass(frozen=True)
class StoredReminder:
    id: int
    event_id: str
    room_id: str
    author: str
    text: str
    mention: bool
    rule: str | None
    time_zone: str
    due_ms: int
    state: str


@dataclass(frozen=True)
class Caps:
    per_room: int
    per_person: int


class Full(Enum):
    """Why a reminder was not added."""

    ROOM = "room"
    PERSON = "person"


def _view(row: Reminder) -> StoredReminder:
    return StoredReminder(
        row.id,
        row.event_id,
        row.room_id,
        row.author,
        row.text,
        row.mention,
        row.rule,
        row.time_zone,
        row.next_due_ms,
        row.state,
    )


class ReminderStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._postgres = engine.dialect.name == "postgresql"

    async def add(
        self, new: NewReminder, caps: Caps, also: InTransaction | None = None
    ) -> StoredReminder | Full:
        """Store a reminder, with `also` in the same transaction. The same message sets one
        reminder however often it is handled: the second time, the first is returned."""
        async with self._sessions.begin() as session:
            existing = await session.scalar(select(Reminder).where(Reminder.event_id == new.event_id))
            if existing is not None:
                return _view(existing)
            live = Reminder.state.in_(LIVE)
            if await self._count(session, live, Reminder.room_id == new.room_id) >= caps.per_room:
                return Full.ROOM
            if await self._count(session, live, Reminder.author == new.author) >= caps.per_person:
                return Full.PERSON
            row = Reminder(
                event_id=new.event_id,
                room_id=new.room_id,
                author=new.author,
                text=new.text.replace("\x00", ""),
                mention=new.mention,
                rule=new.rule,
                time_zone=new.time_zone,
                next_due_ms=new.due_ms,
                state=REMINDER_ACTIVE,
                created_ms=new.created_ms,
            )
            session.add(row)
            if also is not None:
                await also(session)
            await session.flush()
            return _view(row)

    @staticmethod
    async def _count(session, *conditions: ColumnElement[bool]) -> int:  # type: ignore[no-untyped-def]
        return int(await session.scalar(select(func.count()).select_from(Reminder).where(*conditions)) or 0)

    async def counts(self, room_id: str, author: str) -> tuple[int, int]:
        """How many reminders still to come the room has, and the person has in all rooms."""
        live = Reminder.state.in_(LIVE)
        async with self._sessions() as session:
            in_room = await self._count(session, live, Reminder.room_id == room_id)
            by_person = await self._count(session, live, Reminder.author == author)
        return in_room, by_person

    async def by_event(self, event_id: str) -> StoredReminder | None:
        async with self._sessions() as session:
            row = await session.scalar(select(Reminder).where(Reminder.event_id == event_id))
        return _view(row) if row is not None else None

    async def in_room(self, room_id: str) -> list[StoredReminder]:
        """The room's reminders still to come, soonest first."""
        query = (
            select(Reminder)
            .where(Reminder.room_id == room_id, Reminder.state.in_(LIVE))
            .order_by(Reminder.next_due_ms, Reminder.id)
        )
        async with self._sessions() as session:
            return [_view(row) for row in (await session.scalars(query)).all()]

    async def cancel(self, room_id: str, reminder_id: int) -> bool:
        """Cancel one of the room's reminders; False when the room has no such reminder to come."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Reminder)
                .where(Reminder.room_id == room_id, Reminder.id == reminder_id, Reminder.state.in_(LIVE))
                .values(state=REMINDER_DONE)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def forget_done(self, before_ms: int) -> None:
        """Drop reminders done (posted once, or cancelled) whose last instant is before `before_ms`."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(Reminder).where(Reminder.state == REMINDER_DONE, Reminder.next_due_ms < before_ms)
            )

    async def next_due_ms(self) -> int | None:
        """The soonest instant an unclaimed reminder is due; None when there is none."""
        query = select(func.min(Reminder.next_due_ms)).where(Reminder.state == REMINDER_ACTIVE)
        async with self._sessions() as session:
            value = await session.scalar(query)
        return int(value) if value is not None else None

    async def claim_due(self, now_ms: int, latest_due: LatestDue, limit: int = 500) -> list[StoredReminder]:
        """Claim (in one transaction) the reminders due by `now_ms`, soonest first. A
        recurring one that fell due more than once since is claimed at its latest instant
        (the earlier ones are passed over). Each comes back with the instant claimed."""
        query = (
            select(Reminder)
            .where(Reminder.state == REMINDER_ACTIVE, Reminder.next_due_ms <= now_ms)
            .order_by(Reminder.next_due_ms, Reminder.id)
            .limit(limit)
        )
        if self._postgres:  # another scheduler, if one ever runs, takes the others
            query = query.with_for_update(skip_locked=True)
        async with self._sessions.begin() as session:
            rows = list((await session.scalars(query)).all())
            for row in rows:
                if row.rule is not None:
                    row.next_due_ms = latest_due(row.rule, row.time_zone, row.next_due_ms, now_ms)
                row.state = REMINDER_SENDING
            claimed = [_view(row) for row in rows]
        return sorted(claimed, key=lambda r: (r.due_ms, r.id))

    async def claimed(self) -> list[StoredReminder]:
        """Firings claimed and not marked fired (the bot stopped in between), soonest first."""
        query = (
            select(Reminder)
            .where(Reminder.state == REMINDER_SENDING)
            .order_by(Reminder.next_due_ms, Reminder.id)
        )
        async with self._sessions() as session:
            return [_view(row) for row in (await session.scalars(query)).all()]

    async def fired(self, reminder_id: int, due_ms: int, next_due_ms: int | None) -> bool:
        """Mark the firing at `due_ms` done: a one-off (`next_due_ms` None) is done, a
        recurring one waits for `next_due_ms`. False when that firing is not claimed any
        more (the reminder was cancelled meanwhile, or this was done before)."""
        return await self.fired_all([(reminder_id, due_ms, next_due_ms)]) == 1

    async def fired_all(self, marks: list[Fired]) -> int:
        """`fired` for several firings, in one transaction; how many were still claimed."""
        done = 0
        async with self._sessions.begin() as session:
            for reminder_id, due_ms, next_due_ms in marks:
                claimed = (
                    Reminder.id == reminder_id,
                    Reminder.state == REMINDER_SENDING,
                    Reminder.next_due_ms == due_ms,
                )
                values = (
                    {"state": REMINDER_DONE}
                    if next_due_ms is None
                    else {"state": REMINDER_ACTIVE, "next_due_ms": next_due_ms}
                )
                result = await session.execute(update(Reminder).where(*claimed).values(**values))
                done += result.rowcount  # type: ignore[attr-defined]
        return done

    async def person_zone(self, user_id: str) -> str | None:
        async with self._sessions() as session:
            row = await session.get(PersonTimeZone, user_id)
        return row.time_zone if row else None

    async def set_person_zone(self, user_id: str, zone: str | None) -> None:
        async with self._sessions.begin() as session:
            row = await session.get(PersonTimeZone, user_id)
            if zone is None:
                if row is not None:
                    await session.delete(row)
            elif row is None:
                session.add(PersonTimeZone(user_id=user_id, time_zone=zone))
            else:
                row.time_zone = zone

    async def room_zone(self, room_id: str) -> tuple[str, str] | None:
        """The room's time zone and who set it; None when it has none of its own."""
        async with self._sessions() as session:
            row = await session.get(RoomTimeZone, room_id)
        return (row.time_zone, row.set_by) if row else None

    async def set_room_zone(self, room_id: str, zone: str | None, set_by: str) -> None:
        async with self._sessions.begin() as session:
            row = await session.get(RoomTimeZone, room_id)
            if zone is None:
                if row is not None:
                    await session.delete(row)
            elif row is None:
                session.add(RoomTimeZone(room_id=room_id, time_zone=zone, set_by=set_by))
            else:
                row.time_zone, row.set_by = zone, set_by
