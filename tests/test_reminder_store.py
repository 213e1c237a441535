"""The reminder store's contract, on SQLite and on PostgreSQL: a reminder added once per
message and within the caps, listed soonest first in its room only, cancelled; a due
firing claimed once (a recurring one at its latest instant), found again after a crash
until it is marked fired, and marked only once; the time zones of people and rooms."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from appdb.models import REMINDER_ACTIVE, REMINDER_SENDING
from appdb.reminders import Caps, Full, NewReminder, ReminderStore
from tests.db import engine_for

CLUB, OTHER = "!club:localhost", "!other:localhost"
ANNA, BEN = "@anna:localhost", "@ben:localhost"
CAPS = Caps(per_room=3, per_person=2)
WEEK_MS = 7 * 86400 * 1000


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async for engine in engine_for(request.param, tmp_path):
        yield engine


def reminder(
    event_id: str, due_ms: int, *, room: str = CLUB, author: str = ANNA, rule: str | None = None
) -> NewReminder:
    return NewReminder(event_id, room, author, f"text of {event_id}", True, rule, "Europe/Berlin", due_ms, 1)


def every_week(rule: str, zone: str, due_ms: int, now_ms: int) -> int:
    """A stand-in for the bot's rule: weekly from `due_ms`."""
    return due_ms + (now_ms - due_ms) // WEEK_MS * WEEK_MS


async def test_a_message_sets_one_reminder_however_often_it_is_handled(engine: AsyncEngine) -> None:
    store = ReminderStore(engine)
    first = await store.add(reminder("$set", 5_000), CAPS)
    again = await store.add(reminder("$set", 9_999), CAPS)
    assert again == first
    assert [r.due_ms for r in await store.in_room(CLUB)] == [5_000]
    assert await store.by_event("$set") == first
    assert await store.by_event("$other") is None


async def test_the_caps_count_reminders_still_to_come_per_room_and_per_person(engine: AsyncEngine) -> None:
    store = ReminderStore(engine)
    assert not isinstance(await store.add(reminder("$a1", 10), CAPS), Full)
    assert not isinstance(await store.add(reminder("$a2", 20), CAPS), Full)
    assert await store.add(reminder("$a3", 30, room=OTHER), CAPS) is Full.PERSON  # Anna has 2 anywhere
    assert not isinstance(await store.add(reminder("$b1", 30, author=BEN), CAPS), Full)
    assert await store.add(reminder("$b2", 40, author=BEN), CAPS) is Full.ROOM  # the club has 3
    assert await store.counts(CLUB, ANNA) == (3, 2)
    [first, *_] = await store.in_room(CLUB)
    assert await store.cancel(CLUB, first.id)
    assert await store.counts(CLUB, ANNA) == (2, 1)
    assert not isinstance(await store.add(reminder("$b2", 40, author=BEN), CAPS), Full)


async def test_a_room_lists_and_cancels_only_its_own_reminders(engine: AsyncEngine) -> None:
    store = ReminderStore(engine)
    caps = Caps(10, 10)
    await store.add(reminder("$late", 900), caps)
    await store.add(reminder("$soon", 100), caps)
    theirs = await store.add(reminder("$theirs", 50, room=OTHER), caps)
    assert not isinstance(theirs, Full)
    assert [r.event_id for r in await store.in_room(CLUB)] == ["$soon", "$late"]
    assert not await store.cancel(CLUB, theirs.id), "a room cancelled another room's reminder"
    assert [r.event_id for r in await store.in_room(OTHER)] == ["$theirs"]
    assert await store.cancel(OTHER, theirs.id)
    assert not await store.cancel(OTHER, theirs.id)
    assert await store.in_room(OTHER) == []


async def test_a_due_firing_is_claimed_once_and_found_again_until_marked(engine: AsyncEngine) -> None:
    store = ReminderStore(engine)
    caps = Caps(10, 10)
    for event_id, due in (("$b", 2_000), ("$a", 1_000), ("$later", 50_000)):
        await store.add(reminder(event_id, due), caps)
    assert await store.next_due_ms() == 1_000

    claimed = await store.claim_due(2_000, every_week)
    assert [(r.event_id, r.due_ms, r.state) for r in claimed] == [
        ("$a", 1_000, REMINDER_SENDING),
        ("$b", 2_000, REMINDER_SENDING),
    ]
    assert await store.claim_due(2_000, every_week) == [], "a firing was claimed twice"
    assert await store.next_due_ms() == 50_000
    assert [r.event_id for r in await store.claimed()] == ["$a", "$b"]  # what a restart resends

    assert await store.fired(claimed[0].id, 1_000, None)
    assert not await store.fired(claimed[0].id, 1_000, None), "a firing was marked twice"
    assert [r.event_id for r in await store.claimed()] == ["$b"]
    assert [r.event_id for r in await store.in_room(CLUB)] == ["$b", "$later"]
    assert (await store.by_event("$a")) is not None, "a done reminder is kept for a resumed job"
    await store.forget_done(2_000)
    assert await store.by_event("$a") is None


async def test_a_recurring_reminder_is_claimed_at_its_latest_instant_and_moves_on(
    engine: AsyncEngine,
) -> None:
    store = ReminderStore(engine)
    added = await store.add(reminder("$weekly", 1_000, rule="weekly 0 09:00:00"), Caps(10, 10))
    assert not isinstance(added, Full)
    now = 1_000 + 3 * WEEK_MS + 5  # down for three weeks
    [claimed] = await store.claim_due(now, every_week)
    assert claimed.due_ms == 1_000 + 3 * WEEK_MS
    assert await store.fired(claimed.id, claimed.due_ms, claimed.due_ms + WEEK_MS)
    [moved] = await store.in_room(CLUB)
    assert (moved.due_ms, moved.state) == (1_000 + 4 * WEEK_MS, REMINDER_ACTIVE)
    assert await store.claim_due(now, every_week) == []


async def test_a_reminder_cancelled_while_it_is_posted_is_not_marked_or_resent(engine: AsyncEngine) -> None:
    store = ReminderStore(engine)
    await store.add(reminder("$x", 1_000, rule="weekly 0 09:00:00"), Caps(10, 10))
    [claimed] = await store.claim_due(1_000, every_week)
    assert await store.cancel(CLUB, claimed.id)
    assert not await store.fired(claimed.id, claimed.due_ms, claimed.due_ms + WEEK_MS)
    assert await store.claimed() == []
    assert await store.in_room(CLUB) == []


async def test_time_zones_of_people_and_rooms(engine: AsyncEngine) -> None:
    store = ReminderStore(engine)
    assert await store.person_zone(ANNA) is None
    await store.set_person_zone(ANNA, "Europe/Berlin")
    await store.set_person_zone(ANNA, "Asia/Tokyo")
    assert await store.person_zone(ANNA) == "Asia/Tokyo"
    assert await store.person_zone(BEN) is None
    await store.set_person_zone(ANNA, None)
    assert await store.person_zone(ANNA) is None

    await store.set_room_zone(CLUB, "America/New_York", BEN)
    assert await store.room_zone(CLUB) == ("America/New_York", BEN)
    assert await store.room_zone(OTHER) is None
    await store.set_room_zone(CLUB, None, ANNA)
    assert await store.room_zone(CLUB) is None


async def test_text_with_a_nul_character_is_stored(engine: AsyncEngine) -> None:
    store = ReminderStore(engine)
    await store.add(reminder("$nul", 1), Caps(10, 10))
    await store.add(NewReminder("$nul2", CLUB, ANNA, "a\x00b", False, None, "UTC", 2, 1), Caps(10, 10))
    assert [r.text for r in await store.in_room(CLUB)][1] == "ab"
