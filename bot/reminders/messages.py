"""What the room is told about reminders: their times in words, and what a firing posts
(on time, late with a note, or the one notice that it was missed). Pure: no I/O.

A reminder's words are the person's own: they are defused (no `@room`, no user ids
that notify); only "remind me" mentions someone, its author, and "remind us" mentions
nobody."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from appdb.reminders import StoredReminder
from bot import strings
from bot.formatting import defuse_mentions, message_content
from bot.reminders.timing import Rule, zone_or_utc

MAX_TEXT_CHARS = 500
LATE_NOTE_AFTER_MS = 60_000  # a post later than this while the bot was running says so
# Synapse remembers a transaction id for a day: a firing claimed before a crash is sent
# again (same id, stored once) only within this, else it is dropped rather than risk two.
TXN_MEMORY_MS = 20 * 3600 * 1000
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Firing(Enum):
    ON_TIME = "on_time"
    LATE_OFFLINE = "late_offline"  # due before this start: the bot was down
    LATE = "late"  # due while running, posted more than a minute after
    MISSED = "missed"  # later than the grace period: one notice instead
    DROP = "drop"  # claimed by an earlier run too long ago to resend safely


def firing_kind(due_ms: int, now_ms: int, started_ms: int, grace_ms: int, *, resent: bool) -> Firing:
    """How a firing due at `due_ms` is posted at `now_ms`. `resent`: an earlier run
    claimed it and may have posted it."""
    late_ms = now_ms - due_ms
    if resent and late_ms > TXN_MEMORY_MS:
        return Firing.DROP
    if late_ms > grace_ms:
        return Firing.MISSED
    if due_ms < started_ms:
        return Firing.LATE_OFFLINE
    return Firing.LATE if late_ms > LATE_NOTE_AFTER_MS else Firing.ON_TIME


def instant(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def clock_text(moment: datetime, zone: ZoneInfo) -> str:
    """`18:00`, or `18:00:30` when the seconds are not zero."""
    local = moment.astimezone(zone)
    return local.strftime("%H:%M:%S" if local.second else "%H:%M")


def day_text(moment: datetime, zone: ZoneInfo, now: datetime) -> str:
    """`Fri 3 May 18:00`, with the year when it is not this year."""
    local = moment.astimezone(zone)
    year = f" {local.year}" if local.year != now.astimezone(zone).year else ""
    return f"{local:%a} {local.day} {local:%b}{year} {clock_text(moment, zone)}"


def schedule_text(due: datetime, rule: Rule | None, zone: ZoneInfo, now: datetime) -> str:
    """`on Fri 3 May 18:00 (Europe/Berlin)`, or `every Monday at 09:00 (…), next on …`."""
    when = day_text(due, zone, now)
    if rule is None:
        return strings.REMINDER_ONCE.format(when=when, zone=zone.key)
    clock = rule.at.strftime("%H:%M:%S" if rule.at.second else "%H:%M")
    if rule.weekday is None:
        return strings.REMINDER_EVERY_DAY.format(clock=clock, zone=zone.key, when=when)
    weekday = WEEKDAY_NAMES[rule.weekday]
    return strings.REMINDER_EVERY_WEEK.format(weekday=weekday, clock=clock, zone=zone.key, when=when)


def stored_schedule(reminder: StoredReminder, now: datetime) -> str:
    """A stored reminder's schedule in words (a rule it cannot read counts as once)."""
    zone = zone_or_utc(reminder.time_zone)
    try:
        rule = Rule.decode(reminder.rule) if reminder.rule else None
    except ValueError:
        rule = None
    return schedule_text(instant(reminder.due_ms), rule, zone, now)


def reminder_words(text: str) -> str:
    """The words to post: one paragraph, cut to MAX_TEXT_CHARS, notifying nobody."""
    text = " ".join(text.split())
    if len(text) > MAX_TEXT_CHARS:
        text = text[: MAX_TEXT_CHARS - 1] + "…"
    return defuse_mentions(text) or strings.REMINDER_NO_TEXT


def firing_content(reminder: StoredReminder, kind: Firing, grace_s: int) -> dict[str, Any]:
    """The message a firing posts (m.text, so it notifies like a person's would)."""
    zone = zone_or_utc(reminder.time_zone)
    due = instant(reminder.due_ms)
    words = reminder_words(reminder.text)
    if kind is Firing.MISSED:
        when = f"{day_text(due, zone, due)} ({zone.key})"
        text = strings.REMINDER_MISSED.format(when=when, grace=_duration(grace_s), text=words)
        content = message_content(text, notice=True)
    else:
        if reminder.mention:
            person = f"[{reminder.author}](https://matrix.to/#/{reminder.author})"
            text = strings.REMINDER_POST_FOR.format(person=person, text=words)
        else:
            text = strings.REMINDER_POST.format(text=words)
        if kind is Firing.LATE_OFFLINE:
            text += strings.REMINDER_LATE_OFFLINE.format(clock=clock_text(due, zone))
        elif kind is Firing.LATE:
            text += strings.REMINDER_LATE.format(clock=clock_text(due, zone))
        content = message_content(text)
    content["m.mentions"] = {"user_ids": [reminder.author]} if reminder.mention else {}
    return content


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0 and seconds >= 3600:
        hours = seconds // 3600
        return f"{hours} hour{'' if hours == 1 else 's'}"
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'' if minutes == 1 else 's'}"
