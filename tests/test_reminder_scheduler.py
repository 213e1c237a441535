"""The scheduler's exactly-once promise, at every point a power cut can fall: with the
real store (SQLite) and a homeserver double that, like Synapse, stores a transaction id
once. A run is cut (its tasks cancelled, nothing after the cut runs) before the claim,
after the claim and before the homeserver has the message, after it has it but before
the bot hears back, and after the mark; the next run posts what is missing and nothing
twice. Late firings get a note, those past the grace one missed notice, and a firing
claimed longer ago than the homeserver remembers is dropped rather than risk two."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from appdb.reminders import Caps, NewReminder, ReminderStore, StoredReminder
from bot.matrix_io import MatrixActionFailed
from bot.reminders import marks as marks_module
from bot.reminders import scheduler as scheduler_module
from bot.reminders.scheduler import ReminderScheduler
from bot.values import txn_id
from tests.db import engine_for

CLUB, OTHER = "!club:localhost", "!other:localhost"
ANNA = "@anna:localhost"
T0 = 1_714_752_000.0  # Fri 3 May 2024 16:00 UTC
GRACE_S = 3600
WEEK_MS = 7 * 86400 * 1000


class Homeserver:
    """MatrixIO's `send` as Synapse answers it: a transaction id it has seen returns the
    first event and stores nothing. `cut` hangs the next send (until the run is cut)
    before the message is stored, or after (the response lost)."""

    def __init__(self) -> None:
        self.stored: list[tuple[str, dict[str, Any], str]] = []
        self._events: dict[str, str] = {}
        self.cut: dict[str, str] = {}  # room → where its sends hang
        self.reached: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)  # room → hung there
        self.failures: list[MatrixActionFailed] = []
        self._stored_more = asyncio.Condition()

    async def send(self, room_id: str, content: dict[str, Any], txn: str | None = None) -> str:
        assert txn is not None
        if self.failures:
            raise self.failures.pop(0)
        if self.cut.get(room_id) == "before_stored":
            await self._hang(room_id)
        if txn not in self._events:
            self._events[txn] = f"$event{len(self.stored)}"
            self.stored.append((room_id, content, txn))
            async with self._stored_more:
                self._stored_more.notify_all()
        if self.cut.get(room_id) == "after_stored":
            await self._hang(room_id)
        return self._events[txn]

    async def until_stored(self, count: int) -> None:
        async with self._stored_more:
            await self._stored_more.wait_for(lambda: len(self.stored) >= count)

    def is_in(self, room_id: str) -> bool:
        return True

    async def _hang(self, room_id: str) -> None:
        self.reached[room_id].set()
        await asyncio.Event().wait()

    def bodies(self, room_id: str | None = None) -> list[str]:
        return [content["body"] for room, content, _ in self.stored if room_id in (None, room)]

    def reminded(self, room_id: str | None = None) -> list[str]:
        """The first line of each message: the reminder without a note of lateness."""
        return [body.split("\n")[0] for body in self.bodies(room_id)]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[ReminderStore]:
    engine: AsyncEngine
    async for engine in engine_for("sqlite", tmp_path):
        yield ReminderStore(engine)


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(marks_module, "RETRY_DELAYS_S", (0.0,))


async def add(
    store: ReminderStore,
    name: str,
    due_s: float,
    *,
    room: str = CLUB,
    mention: bool = False,
    rule: str | None = None,
) -> StoredReminder:
    new = NewReminder(f"${name}", room, ANNA, name, mention, rule, "Europe/Berlin", int(due_s * 1000), 1)
    stored = await store.add(new, Caps(100, 100))
    assert isinstance(stored, StoredReminder)
    return stored


def scheduler(store: ReminderStore, homeserver: Homeserver, clock: Clock) -> ReminderScheduler:
    return ReminderScheduler(store, homeserver, GRACE_S, clock)  # type: ignore[arg-type]


async def run_once(store: ReminderStore, homeserver: Homeserver, clock: Clock) -> ReminderScheduler:
    """A whole run: start, claim what is due, post and mark it all."""
    run = scheduler(store, homeserver, clock)
    await run.start()
    await run.tick()
    await run.idle()
    return run


@pytest.mark.parametrize(
    "cut", ["before_claim", "before_stored", "after_stored", "before_mark", "after_mark"]
)
async def test_each_firing_is_posted_exactly_once_wherever_the_power_is_cut(
    store: ReminderStore, cut: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    homeserver, clock = Homeserver(), Clock()
    reminders = [
        await add(store, name, T0 - 1, room=room) for name, room in (("a", CLUB), ("b", CLUB), ("c", OTHER))
    ]
    first = scheduler(store, homeserver, clock)
    await first.start()
    if cut in ("before_stored", "after_stored"):
        homeserver.cut = {CLUB: cut, OTHER: cut}
        await first.tick()
        await homeserver.reached[CLUB].wait()  # the first send of each room hangs there
        await homeserver.reached[OTHER].wait()
    elif cut == "before_mark":  # every message posted, no mark written yet
        marking = asyncio.Event()

        async def never_written(marks: list[tuple[int, int, int | None]]) -> int:
            marking.set()
            await asyncio.Event().wait()
            return 0

        with monkeypatch.context() as patch:
            patch.setattr(store, "fired_all", never_written)
            await first.tick()
            await marking.wait()
            await homeserver.until_stored(3)
            await first.stop(power_cut=True)
        assert await store.claimed() != []
    elif cut == "after_mark":
        await first.tick()
        await first.idle()
    await first.stop(power_cut=True)  # nothing after this point of the run happens
    homeserver.cut = {}

    clock.now += 5
    await run_once(store, homeserver, clock)

    txns = [txn for _, _, txn in homeserver.stored]
    assert sorted(txns) == sorted(txn_id("reminder", str(r.id), str(r.due_ms)) for r in reminders)
    assert sorted(homeserver.reminded()) == ["⏰ a", "⏰ b", "⏰ c"]
    assert await store.claimed() == [] and await store.in_room(CLUB) == []
    clock.now += 3600
    await run_once(store, homeserver, clock)
    assert len(homeserver.stored) == 3, "a firing was posted again later"


async def test_a_room_posts_in_order_and_rooms_do_not_wait_for_each_other(store: ReminderStore) -> None:
    homeserver, clock = Homeserver(), Clock()
    for n in range(5):
        await add(store, f"club {n}", T0 - 10 + n)
    await add(store, "other", T0 - 1, room=OTHER)
    await run_once(store, homeserver, clock)
    assert homeserver.reminded(CLUB) == [f"⏰ club {n}" for n in range(5)]
    assert homeserver.reminded(OTHER) == ["⏰ other"]


async def test_remind_me_mentions_its_author_and_remind_us_nobody(store: ReminderStore) -> None:
    homeserver, clock = Homeserver(), Clock()
    await add(store, "call Anna, @room", T0 - 1, mention=True)
    await add(store, "bring chairs @room @ben:localhost", T0 - 1)
    await run_once(store, homeserver, clock)
    (_, me, _), (_, us, _) = homeserver.stored
    assert me["m.mentions"] == {"user_ids": [ANNA]} and ANNA in me["body"]
    assert us["m.mentions"] == {}
    assert me["msgtype"] == us["msgtype"] == "m.text"  # notices do not notify by default
    for content in (me, us):
        assert "@room" not in content["body"] and "@ben:localhost" not in content["body"]


async def test_while_running_a_firing_waits_for_its_instant_and_a_new_one_wakes_it(
    store: ReminderStore,
) -> None:
    homeserver, clock = Homeserver(), Clock()
    run = scheduler(store, homeserver, clock)
    await run.start()
    assert await run.tick() == scheduler_module.MAX_SLEEP_S  # nothing to do
    await add(store, "soon", T0 + 2.5)
    assert await run.tick() == pytest.approx(2.5, abs=0.01)
    await run.idle()
    assert homeserver.stored == [], "posted before its time"
    clock.now = T0 + 2.5
    await run.tick()
    await run.idle()
    assert homeserver.bodies() == ["⏰ soon"]


async def test_due_while_the_bot_was_down_is_posted_late_with_a_note_or_once_as_missed(
    store: ReminderStore,
) -> None:
    homeserver, clock = Homeserver(), Clock()
    await add(store, "within the grace", T0 - 600)  # 10:00 CEST... due 10 minutes before the start
    await add(store, "past the grace", T0 - GRACE_S - 60, room=OTHER)
    await run_once(store, homeserver, clock)
    [late] = homeserver.bodies(CLUB)
    assert late.startswith("⏰ within the grace") and "(late: the assistant was offline at 17:50)" in late
    [missed] = homeserver.bodies(OTHER)
    assert missed.startswith("I missed a reminder for") and "past the grace" in missed
    assert [content["msgtype"] for room, content, _ in homeserver.stored if room == OTHER] == ["m.notice"]
    await run_once(store, homeserver, clock)
    assert len(homeserver.stored) == 2


async def test_a_resent_firing_past_the_grace_is_never_a_second_message(store: ReminderStore) -> None:
    homeserver, clock = Homeserver(), Clock()
    await add(store, "stored before the cut", T0 - 1)
    await add(store, "cut before it was stored", T0 - 1, room=OTHER)
    first = scheduler(store, homeserver, clock)
    await first.start()
    homeserver.cut = {CLUB: "after_stored", OTHER: "before_stored"}
    await first.tick()
    await homeserver.reached[CLUB].wait()
    await homeserver.reached[OTHER].wait()
    await first.stop(power_cut=True)
    homeserver.cut = {}
    assert homeserver.reminded() == ["⏰ stored before the cut"]

    clock.now += GRACE_S + 60  # back after the grace: the one posted stays the only one
    await run_once(store, homeserver, clock)
    assert homeserver.reminded(CLUB) == ["⏰ stored before the cut"]
    [missed] = homeserver.bodies(OTHER)
    assert missed.startswith("I missed a reminder")


async def test_a_firing_claimed_longer_ago_than_the_homeserver_remembers_is_dropped(
    store: ReminderStore,
) -> None:
    homeserver, clock = Homeserver(), Clock()
    await add(store, "a day ago", T0 - 1)
    first = scheduler(store, homeserver, clock)
    await first.start()
    homeserver.cut = {CLUB: "after_stored"}
    await first.tick()
    await homeserver.reached[CLUB].wait()
    await first.stop(power_cut=True)
    homeserver.cut = {}
    clock.now += 21 * 3600
    await run_once(store, homeserver, clock)
    assert homeserver.reminded() == ["⏰ a day ago"]
    assert await store.claimed() == []


async def test_a_weekly_reminder_down_for_weeks_posts_its_latest_instant_once_and_moves_on(
    store: ReminderStore,
) -> None:
    homeserver, clock = Homeserver(), Clock()
    monday_9 = 1_714_374_000.0  # Mon 29 Apr 2024 09:00 CEST
    added = await add(store, "water the plants", monday_9, rule="weekly 0 09:00:00")
    clock.now = monday_9 + 3 * 7 * 86400 + 1200  # three Mondays later, 09:20
    await run_once(store, homeserver, clock)
    [posted] = homeserver.bodies()
    assert posted.startswith("⏰ water the plants") and "offline at 09:00" in posted
    [_, _, txn] = homeserver.stored[0]
    assert txn == txn_id("reminder", str(added.id), str(int((monday_9 + 3 * 7 * 86400) * 1000)))
    [moved] = await store.in_room(CLUB)
    assert moved.due_ms == int((monday_9 + 4 * 7 * 86400) * 1000)
    await run_once(store, homeserver, clock)
    assert len(homeserver.stored) == 1


async def test_a_failing_homeserver_is_tried_again_and_a_refusal_ends_it(store: ReminderStore) -> None:
    homeserver, clock = Homeserver(), Clock()
    homeserver.failures = [
        MatrixActionFailed("502", permanent=False),
        MatrixActionFailed("502", permanent=False),
    ]
    await add(store, "after two failures", T0 - 1)
    await run_once(store, homeserver, clock)
    assert homeserver.reminded() == ["⏰ after two failures"]

    homeserver.failures = [MatrixActionFailed("403: not in the room", permanent=True)]
    await add(store, "refused", T0 - 1)
    await run_once(store, homeserver, clock)
    assert homeserver.reminded() == ["⏰ after two failures"]
    assert await store.claimed() == [] and await store.in_room(CLUB) == []


async def test_the_database_failing_at_the_mark_is_retried_without_posting_again(
    store: ReminderStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    homeserver, clock = Homeserver(), Clock()
    await add(store, "marked on the second try", T0 - 1)
    real_fired = store.fired_all
    calls: list[int] = []

    async def flaky_fired(marks: list[tuple[int, int, int | None]]) -> int:
        calls.append(len(marks))
        if len(calls) == 1:
            raise OSError("the database went away")
        return await real_fired(marks)

    monkeypatch.setattr(store, "fired_all", flaky_fired)
    await run_once(store, homeserver, clock)
    assert len(calls) == 2 and homeserver.reminded() == ["⏰ marked on the second try"]
    assert await store.claimed() == []
