"""When a reminder is due: pure, deterministic code over `zoneinfo`, from "now" and a
time zone. Instants are aware UTC datetimes; a rule's clock time is the wall clock of
its zone, so a weekly 09:00 stays at 09:00 across daylight-saving changes.

A wall-clock time that does not exist on a day (skipped by a change to summer time) is
moved forward by the gap (02:30 becomes 03:30); one that happens twice (the change back)
is its first occurrence."""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from bot.reminders.request import WEEKDAYS, ReminderRequest

DEFAULT_TIME = time(9, 0)  # "friday", "tomorrow", "every monday" with no time said
MAX_AHEAD = timedelta(days=5 * 366)


class Refusal(Enum):
    UNCLEAR = "unclear"  # no time this grammar can say
    PAST = "past"
    TOO_FAR = "too_far"


@dataclass(frozen=True)
class Rule:
    """A recurrence: every day, or every week on `weekday` (0 is Monday), at `at`."""

    at: time
    weekday: int | None = None

    def encode(self) -> str:
        clock = self.at.strftime("%H:%M:%S")
        return f"daily {clock}" if self.weekday is None else f"weekly {self.weekday} {clock}"

    @classmethod
    def decode(cls, text: str) -> Rule:
        """Raises ValueError for a rule this code did not write."""
        parts = text.split()
        if len(parts) == 2 and parts[0] == "daily":
            return cls(time.fromisoformat(parts[1]))
        if len(parts) == 3 and parts[0] == "weekly" and parts[1] in "0123456":
            return cls(time.fromisoformat(parts[2]), int(parts[1]))
        raise ValueError(f"not a reminder rule: {text!r}")

    def matches(self, day: date) -> bool:
        return self.weekday is None or day.weekday() == self.weekday


@dataclass(frozen=True)
class Plan:
    due: datetime  # the first instant, UTC
    rule: Rule | None  # None: once


@functools.cache
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def zone_name(wanted: str) -> str | None:
    """The IANA name for `wanted` (any case: `europe/berlin` → `Europe/Berlin`), or None."""
    return _zone_names().get(wanted.strip().lower()) if len(wanted) <= 64 else None


def zone_or_utc(name: str) -> ZoneInfo:
    """A stored zone; UTC if this system no longer knows it (an older tz database)."""
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return ZoneInfo("UTC")


def wall_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant (UTC) when the clocks of `zone` show `at` on `day`."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    return instant.astimezone(zone).date()


def next_occurrence(rule: Rule, after: datetime, zone: ZoneInfo) -> datetime:
    """The rule's first instant strictly after `after`."""
    start = local_date(after, zone)
    for offset in range(-1, 9):
        day = start + timedelta(days=offset)
        if rule.matches(day) and (instant := wall_instant(day, rule.at, zone)) > after:
            return instant
    raise AssertionError("a rule occurs at least once a week")  # pragma: no cover


def latest_occurrence(rule: Rule, due: datetime, now: datetime, zone: ZoneInfo) -> datetime:
    """The rule's last instant not after `now`, and never before `due` (one of its
    instants): what is posted when the bot comes back after several were due."""
    if now <= due:
        return due
    start = local_date(now, zone)
    for offset in range(1, -9, -1):
        day = start + timedelta(days=offset)
        if rule.matches(day) and (instant := wall_instant(day, rule.at, zone)) <= now:
            return max(instant, due)
    return due  # pragma: no cover


def parse_clock(text: str | None) -> time | None:
    """`9:00`, `18:00` or `18:00:30` (the request's pattern) as a time; None for None."""
    if not text:
        return None
    hours, minutes, *seconds = (int(part) for part in text.split(":"))
    return time(hours, minutes, seconds[0] if seconds else 0)


def plan(request: ReminderRequest, now: datetime, zone: ZoneInfo) -> Plan | Refusal:
    """The first instant (and the rule, for a recurring one) of what the request says,
    seen from `now`; or why there is none. Never raises for any valid request."""
    at = parse_clock(request.time)
    if request.kind == "unclear":
        return Refusal.UNCLEAR
    if request.kind == "in":
        return _after_delay(request, at, now, zone)
    weekday = WEEKDAYS.index(request.weekday) if request.weekday else None
    if request.kind == "every":
        rule = Rule(at or DEFAULT_TIME, weekday)
        return Plan(next_occurrence(rule, now, zone), rule)
    if request.date:
        return _checked(_on_date(request.date, at or DEFAULT_TIME, now, zone), now)
    if request.day:
        day = local_date(now, zone) + timedelta(days=1 if request.day == "tomorrow" else 0)
        return _checked(wall_instant(day, at or DEFAULT_TIME, zone), now)
    if weekday is not None or at is not None:
        return Plan(next_occurrence(Rule(at or DEFAULT_TIME, weekday), now, zone), None)
    return Refusal.UNCLEAR


def _after_delay(request: ReminderRequest, at: time | None, now: datetime, zone: ZoneInfo) -> Plan | Refusal:
    delay = request.delay
    if delay is None:
        return Refusal.UNCLEAR
    seconds = delay.total_seconds
    if seconds <= 0:
        return Refusal.PAST
    if seconds > MAX_AHEAD.total_seconds():
        return Refusal.TOO_FAR
    if at is not None and delay.only_days:  # "in 3 days at 9:00"
        return _checked(wall_instant(local_date(now, zone) + timedelta(days=delay.days), at, zone), now)
    return Plan(now + timedelta(seconds=seconds), None)


def _on_date(text: str, at: time, now: datetime, zone: ZoneInfo) -> datetime | Refusal:
    """`YYYY-MM-DD`, or the next `MM-DD` still to come."""
    today = local_date(now, zone)
    *year, month, day = (int(part) for part in text.split("-"))
    if year:
        try:
            wanted = date(year[0], month, day)
        except ValueError:
            return Refusal.UNCLEAR
        if wanted < today:
            return Refusal.PAST
        if wanted > today + MAX_AHEAD:
            return Refusal.TOO_FAR
        return wall_instant(wanted, at, zone)
    for candidate_year in range(today.year, today.year + 9):  # 29 February: up to 8 years
        try:
            instant = wall_instant(date(candidate_year, month, day), at, zone)
        except ValueError:
            continue
        if instant > now:
            return instant
    return Refusal.UNCLEAR


def _checked(due: datetime | Refusal, now: datetime) -> Plan | Refusal:
    if isinstance(due, Refusal):
        return due
    if due <= now:
        return Refusal.PAST
    if due - now > MAX_AHEAD:
        return Refusal.TOO_FAR
    return Plan(due, None)
