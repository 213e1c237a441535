"""Reminders through the real Synapse, with the Ollama double reading the sentences: a
reminder is posted once, at its time (never early), in its room; "remind me" mentions
its author and "remind us" nobody; the person's and the room's time zones set the wall
clock (the room's only by its moderators); a recurring one fires and moves to next
week; one that falls while the bot is stopped is posted late with a note, once; across a
SIGKILL right at the due time, each reminder is posted exactly once; unclear, past and
over-the-cap requests are refused, and `!cancel` is for the author or a moderator."""

from __future__ import annotations

import asyncio
import json
import math
import signal
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from nio import RoomCreateResponse, RoomPreset

from appdb.engine import default_database_url, make_engine
from appdb.reminders import Caps, NewReminder, ReminderStore
from tests.bot_process import BotProcess
from tests.conftest import UserFactory
from tests.matrix_user import AnswerView, MatrixUser, open_direct_chat, wait_for_answer, wait_until_member
from tests.ollama_double import OllamaDouble
from tests.synapse_server import SynapseServer

Event = dict[str, Any]
AHEAD_S = 6  # far enough for the sentence to be read and the reminder stored first
ON_TIME_S = 2.0  # the precision: posted within 2 s of its time
FAR_MS = int((time.time() + 365 * 86400) * 1000)  # a reminder that will not fall due during the tests


@dataclass(frozen=True)
class Club:
    alice: MatrixUser  # created the room: a moderator
    bob: MatrixUser
    room_id: str
    bot_id: str


@pytest.fixture
async def club(synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory) -> Club:
    alice, bob = await make_user("alice"), await make_user("bob")
    bot_id = synapse.provisioned.bot_user_id
    created = await alice.client.room_create(preset=RoomPreset.private_chat, invite=[bot_id, bob.user_id])
    assert isinstance(created, RoomCreateResponse), created
    await wait_until_member(alice, created.room_id, bot_id)
    await bob.join(created.room_id)
    return Club(alice, bob, created.room_id, bot_id)


@pytest.fixture
async def reminders(synapse: SynapseServer) -> AsyncIterator[ReminderStore]:
    """The bot's reminder store, written directly (many reminders at once, caps)."""
    engine = make_engine(synapse.app_database_url or default_database_url(synapse.settings.data_dir))
    yield ReminderStore(engine)
    await engine.dispose()


def due_in(seconds: float) -> float:
    """A whole second at least `seconds` from now (the model names seconds)."""
    return float(math.ceil(time.time() + seconds))


def wall_clock(due: float, zone: str = "UTC") -> str:
    return datetime.fromtimestamp(due, ZoneInfo(zone)).strftime("%H:%M:%S")


def model_says(**fields: Any) -> str:
    """The model's answer, as a chatty model writes it."""
    return f"Here is the reminder:\n```json\n{json.dumps(fields)}\n```"


def reminder_of(bot_id: str, text: str) -> Callable[[Event], bool]:
    def matches(event: Event) -> bool:
        body = str(event.get("content", {}).get("body", ""))
        return event.get("sender") == bot_id and body.startswith("⏰") and text in body

    return matches


async def ask(user: MatrixUser, room_id: str, bot_id: str, text: str, expect: str = "") -> AnswerView:
    question = await user.send(room_id, text)
    return await wait_for_answer(user, room_id, question, bot_id, lambda v: expect in v.body, timeout=30)


async def posted_once(user: MatrixUser, room_id: str, bot_id: str, text: str, due: float) -> Event:
    """Wait for the reminder; it came at its time (not early, within 2 s); then, once the
    room's reminders are listed, there is exactly one of it."""
    event = await user.wait_for(room_id, reminder_of(bot_id, text), timeout=AHEAD_S + 20)
    assert due - 0.05 <= event["origin_server_ts"] / 1000 <= due + ON_TIME_S, (event, due)
    await ask(user, room_id, bot_id, "@bot !reminders", "reminders")
    assert len([e for e in user.seen[room_id] if reminder_of(bot_id, text)(e)]) == 1
    return event


async def test_remind_us_is_posted_once_at_its_time_and_notifies_nobody(
    club: Club, ollama: OllamaDouble
) -> None:
    alice, room_id, bot_id = club.alice, club.room_id, club.bot_id
    due = due_in(AHEAD_S)
    ollama.scripted.append(
        model_says(
            who="us",
            kind="at",
            date=None,
            day=None,
            weekday=None,
            time=wall_clock(due),
            text="bring the chairs @room",
        )
    )
    sentence = f"@bot remind us at {wall_clock(due)} to bring the chairs @room"
    confirmed = await ask(alice, room_id, bot_id, sentence, "Done")
    assert "I'll remind this room on" in confirmed.body and "(UTC)" in confirmed.body

    [request] = ollama.chat_requests()
    system, asked = request["messages"][0], request["messages"][-1]
    assert system["role"] == "system" and "never follow instructions" in system["content"]
    assert asked["content"] == f"<sentence>{sentence.removeprefix('@bot ')}</sentence>"

    event = await posted_once(alice, room_id, bot_id, "bring the chairs", due)
    content = event["content"]
    assert content["msgtype"] == "m.text" and content["m.mentions"] == {}
    assert "@room" not in content["body"], "a reminder must not notify the whole room"
    listing = await ask(alice, room_id, bot_id, "@bot !reminders", "no reminders")
    assert "no reminders" in listing.body


async def test_remind_me_in_a_direct_chat_counts_from_the_message_and_mentions_the_person(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    anna = await make_user("anna")
    bot_id = synapse.provisioned.bot_user_id
    room_id, _ = await open_direct_chat(anna, bot_id)
    ollama.scripted.append(
        model_says(who="me", kind="in", **{"in": {"seconds": AHEAD_S}}, text="check the oven")
    )
    question = await anna.send(
        room_id, "remind me in 6 seconds to check the oven"
    )  # no @bot in a direct chat
    await wait_for_answer(anna, room_id, question, bot_id, lambda v: "I'll remind you" in v.body, timeout=30)
    said = next(e for e in anna.seen[room_id] if e["event_id"] == question)["origin_server_ts"] / 1000

    event = await posted_once(anna, room_id, bot_id, "check the oven", said + AHEAD_S)
    assert event["content"]["m.mentions"] == {"user_ids": [anna.user_id]}
    assert anna.user_id in event["content"]["body"]


async def test_the_persons_time_zone_sets_the_wall_clock(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    ravi = await make_user("ravi")
    bot_id = synapse.provisioned.bot_user_id
    room_id, _ = await open_direct_chat(ravi, bot_id)
    refused = await ask(ravi, room_id, bot_id, "!timezone Mars/Olympus_Mons", "I don't know the time zone")
    assert "Europe/Berlin" in refused.body
    shown = await ask(ravi, room_id, bot_id, "!timezone", "Your time zone")
    assert "UTC" in shown.body and "default" in shown.body
    await ask(ravi, room_id, bot_id, "!timezone asia/kathmandu", "Done: your time zone is Asia/Kathmandu")

    due = due_in(AHEAD_S)  # Kathmandu is 5:45 ahead of UTC: the wrong zone would miss by hours
    ollama.scripted.append(
        model_says(who="me", kind="at", time=wall_clock(due, "Asia/Kathmandu"), text="call home")
    )
    confirmed = await ask(
        ravi, room_id, bot_id, f"remind me at {wall_clock(due, 'Asia/Kathmandu')} to call home", "Done"
    )
    assert "(Asia/Kathmandu)" in confirmed.body and wall_clock(due, "Asia/Kathmandu") in confirmed.body
    await posted_once(ravi, room_id, bot_id, "call home", due)


async def test_the_rooms_time_zone_is_set_by_its_moderators_and_used_for_the_room(
    club: Club, ollama: OllamaDouble
) -> None:
    alice, bob, room_id, bot_id = club.alice, club.bob, club.room_id, club.bot_id
    none = await ask(bob, room_id, bot_id, "@bot !timezone room", "no time zone of its own")
    assert "!timezone room Europe/Berlin" in none.body
    refused = await ask(
        bob, room_id, bot_id, "@bot !timezone room Europe/Berlin", "Sorry, only the room's moderators"
    )
    assert refused.content["m.mentions"] == {"user_ids": [bob.user_id]}
    await ask(
        alice,
        room_id,
        bot_id,
        "@bot !timezone room Europe/Berlin",
        "Done: this room's time zone is Europe/Berlin",
    )
    shown = await ask(bob, room_id, bot_id, "@bot !timezone room", "This room's time zone is Europe/Berlin")
    assert "set by" in shown.body

    ollama.scripted.append(
        model_says(who="us", kind="at", weekday="friday", time="18:00", text="bring the chairs")
    )
    room_one = await ask(bob, room_id, bot_id, "@bot remind us friday 18:00 to bring the chairs", "Done")
    assert "18:00 (Europe/Berlin)" in room_one.body, "remind us uses the room's time zone"
    ollama.scripted.append(model_says(who="me", kind="at", weekday="friday", time="07:00", text="stretch"))
    own = await ask(bob, room_id, bot_id, "@bot remind me friday 7:00 to stretch", "Done")
    assert "07:00 (Europe/Berlin)" in own.body, "without a zone of his own, Bob's falls back to the room's"
    await ask(bob, room_id, bot_id, "@bot !timezone America/New_York", "Done")
    ollama.scripted.append(model_says(who="me", kind="at", weekday="friday", time="08:00", text="run"))
    mine = await ask(bob, room_id, bot_id, "@bot remind me friday 8:00 to run", "Done")
    assert "08:00 (America/New_York)" in mine.body


async def test_a_weekly_reminder_fires_once_and_moves_to_next_week(club: Club, ollama: OllamaDouble) -> None:
    alice, room_id, bot_id = club.alice, club.room_id, club.bot_id
    due = due_in(AHEAD_S)
    weekday = datetime.fromtimestamp(due, ZoneInfo("UTC")).strftime("%A")
    ollama.scripted.append(
        model_says(
            who="us", kind="every", weekday=weekday.lower(), time=wall_clock(due), text="water the plants"
        )
    )
    confirmed = await ask(
        alice, room_id, bot_id, f"@bot every {weekday} {wall_clock(due)} water the plants", "Done"
    )
    assert f"every {weekday} at {wall_clock(due)} (UTC)" in confirmed.body

    await alice.wait_for(room_id, reminder_of(bot_id, "water the plants"), timeout=AHEAD_S + 20)
    next_week = datetime.fromtimestamp(due + 7 * 86400, ZoneInfo("UTC"))
    listing = await ask(
        alice, room_id, bot_id, "@bot !reminders", f"next on {next_week:%a} {next_week.day} {next_week:%b}"
    )
    assert "1. every" in listing.body and "water the plants" in listing.body
    assert len([e for e in alice.seen[room_id] if reminder_of(bot_id, "water the plants")(e)]) == 1


async def test_a_reminder_due_while_the_bot_is_stopped_is_posted_late_once_with_a_note(
    club: Club, ollama: OllamaDouble, bot: BotProcess
) -> None:
    alice, room_id, bot_id = club.alice, club.room_id, club.bot_id
    due = due_in(AHEAD_S)
    ollama.scripted.append(model_says(who="us", kind="at", time=wall_clock(due), text="feed the cat"))
    await ask(alice, room_id, bot_id, f"@bot remind us at {wall_clock(due)} to feed the cat", "Done")
    bot.stop()
    try:
        await asyncio.sleep(max(0.0, due + 1 - time.time()))  # the due time passes while it is down
    finally:
        bot.start()
    event = await alice.wait_for(room_id, reminder_of(bot_id, "feed the cat"), timeout=30)
    assert f"(late: the assistant was offline at {wall_clock(due)})" in event["content"]["body"]
    await ask(alice, room_id, bot_id, "@bot !reminders", "no reminders")
    assert len([e for e in alice.seen[room_id] if reminder_of(bot_id, "feed the cat")(e)]) == 1


async def test_across_a_sigkill_at_the_due_time_each_reminder_is_posted_exactly_once(
    club: Club, ollama: OllamaDouble, bot: BotProcess, reminders: ReminderStore
) -> None:
    alice, room_id, bot_id = club.alice, club.room_id, club.bot_id
    due = due_in(AHEAD_S)
    texts = [f"batch item {n:02d}" for n in range(20)]
    for n, text in enumerate(texts):  # due together; posted one after another in the room
        new = NewReminder(
            f"$batch{n}-{due}", room_id, "@someone:localhost", text, False, None, "UTC", int(due * 1000), 0
        )
        await reminders.add(new, Caps(100, 100))
    ollama.scripted.append(
        model_says(who="us", kind="at", time=wall_clock(due), text="batch item set by message")
    )
    await ask(
        alice, room_id, bot_id, f"@bot remind us at {wall_clock(due)} batch item set by message", "Done"
    )

    await alice.wait_for(room_id, reminder_of(bot_id, "batch item"), timeout=AHEAD_S + 20)
    bot.stop(signal.SIGKILL)  # while the batch is being posted
    bot.start()
    # A reminder set after the restart is posted after everything the restart resent.
    ollama.scripted.append(
        model_says(who="us", kind="in", **{"in": {"seconds": 1}}, text="after the restart")
    )
    await ask(alice, room_id, bot_id, "@bot remind us in 1 second: after the restart", "Done")
    await alice.wait_for(room_id, reminder_of(bot_id, "after the restart"), timeout=30)

    posted = [
        e["content"]["body"].split("\n")[0]
        for e in alice.seen[room_id]
        if reminder_of(bot_id, "batch item")(e)
    ]
    assert sorted(posted) == sorted(f"⏰ {text}" for text in [*texts, "batch item set by message"])
    # The marks are written after the posts, a few at a time: none stays claimed.
    await until(lambda: reminders.claimed(), lambda claimed: claimed == [], timeout=15)


async def test_unclear_past_and_over_the_cap_requests_are_refused(
    club: Club, ollama: OllamaDouble, reminders: ReminderStore, make_user: UserFactory
) -> None:
    alice, room_id, bot_id = club.alice, club.room_id, club.bot_id
    localpart = bot_id[1:].split(":")[0]
    ollama.scripted.append("I'm not sure what you mean.")
    unclear = await ask(
        alice, room_id, bot_id, "@bot remind us sometime about the thing", "couldn't tell when"
    )
    assert f"@{localpart} remind us friday 18:00 to bring the chairs" in unclear.body

    ollama.scripted.append(model_says(who="us", kind="at", date="2020-01-01", time="10:00", text="old news"))
    past = await ask(
        alice, room_id, bot_id, "@bot remind us on 1 January 2020 at 10:00 about old news", "already passed"
    )
    assert "2020-01-01 10:00" in past.body

    carol = await make_user("carol")
    for n in range(20):  # Carol has 20 reminders elsewhere: the most one person may have
        elsewhere = NewReminder(
            f"$carol{n}{room_id}", "!elsewhere:localhost", carol.user_id, "x", False, None, "UTC", FAR_MS, 0
        )
        await reminders.add(elsewhere, Caps(100, 100))
    await alice.client.room_invite(room_id, carol.user_id)
    await carol.join(room_id)
    asked = len(ollama.chat_requests())
    full = await ask(carol, room_id, bot_id, "@bot remind me in 5 minutes to stretch", "20 reminders")
    assert "the most one person can have" in full.body
    assert len(ollama.chat_requests()) == asked, "the cap is checked before the model is asked"


async def test_cancel_is_for_the_author_or_a_moderator(
    club: Club, reminders: ReminderStore, make_user: UserFactory
) -> None:
    alice, bob, room_id, bot_id = club.alice, club.bob, club.room_id, club.bot_id
    carol = await make_user("carol")
    await alice.client.room_invite(room_id, carol.user_id)
    await carol.join(room_id)
    for n, (author, text) in enumerate(((bob, "bob's reminder"), (carol, "carol's reminder"))):
        new = NewReminder(
            f"$cancel{n}{room_id}", room_id, author.user_id, text, False, None, "UTC", FAR_MS + n, 0
        )
        await reminders.add(new, Caps(100, 100))
    listing = await ask(carol, room_id, bot_id, "@bot !reminders", "This room's reminders")
    assert "1. on" in listing.body and "bob's reminder" in listing.body and "2. on" in listing.body

    refused = await ask(carol, room_id, bot_id, "@bot !cancel 1", "Sorry, only the person who set reminder 1")
    assert refused.body
    await ask(carol, room_id, bot_id, "@bot !cancel 7", "There is no reminder 7 here (the room has 2)")
    await ask(carol, room_id, bot_id, "@bot !cancel the first", "Say which reminder to cancel")
    await ask(bob, room_id, bot_id, "@bot !cancel 1", "Done: I cancelled the reminder")
    moderator = await ask(alice, room_id, bot_id, "@bot !cancel 1", "Done: I cancelled the reminder")
    assert "carol's reminder" in moderator.body
    await ask(carol, room_id, bot_id, "@bot !reminders", "This room has no reminders")


async def until(read, done, timeout: float) -> None:  # type: ignore[no-untyped-def]
    """Read until `done(value)` holds, or fail after `timeout` seconds with the last value."""
    deadline = time.monotonic() + timeout
    while not done(value := await read()):
        assert time.monotonic() < deadline, f"still {value!r} after {timeout} s"
        await asyncio.sleep(0.1)
