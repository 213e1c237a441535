"""When a reminder is due: the pure timing code, by examples (a Friday evening, daylight
saving in Berlin, a date already past) and by Hypothesis over every time zone the
system knows: the next instant is always in the future, at the wall-clock time asked in
that zone (or just after a gap the clocks skip), and none is passed over; a request of
any shape either plans an instant in the future or is refused, never raises."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.reminders.request import ReminderRequest
from bot.reminders.timing import (
    MAX_AHEAD,
    Plan,
    Refusal,
    Rule,
    latest_occurrence,
    next_occurrence,
    plan,
    wall_instant,
    zone_name,
)
from tests.json_strategies import json_like

BERLIN = ZoneInfo("Europe/Berlin")
FRIDAY_1830_BERLIN = datetime(2024, 5, 3, 16, 30, tzinfo=UTC)  # Fri 3 May 2024, 18:30 CEST


def request(**fields: object) -> ReminderRequest:
    return ReminderRequest.model_validate(fields)


def local(moment: datetime, zone: ZoneInfo = BERLIN) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # "friday 18:00" on a Friday after 18:00 is next week; before it, today.
        ({"kind": "at", "weekday": "friday", "time": "18:00"}, datetime(2024, 5, 10, 18, 0)),
        ({"kind": "at", "weekday": "friday", "time": "19:00"}, datetime(2024, 5, 3, 19, 0)),
        ({"kind": "at", "weekday": "monday"}, datetime(2024, 5, 6, 9, 0)),  # no time said: 09:00
        ({"kind": "at", "time": "18:00"}, datetime(2024, 5, 4, 18, 0)),  # passed today: tomorrow
        ({"kind": "at", "time": "7:05:30"}, datetime(2024, 5, 4, 7, 5, 30)),
        ({"kind": "at", "day": "tomorrow", "time": "08:00"}, datetime(2024, 5, 4, 8, 0)),
        ({"kind": "at", "date": "2024-12-24", "time": "19:00"}, datetime(2024, 12, 24, 19, 0)),
        ({"kind": "at", "date": "05-01", "time": "19:00"}, datetime(2025, 5, 1, 19, 0)),  # next 1 May
        ({"kind": "at", "date": "02-29"}, datetime(2028, 2, 29, 9, 0)),
        ({"kind": "in", "in": {"hours": 2, "minutes": 30}}, datetime(2024, 5, 3, 21, 0)),
        ({"kind": "in", "in": {"days": 2}, "time": "07:00"}, datetime(2024, 5, 5, 7, 0)),
        ({"kind": "in", "in": {"seconds": 5}}, datetime(2024, 5, 3, 18, 30, 5)),
    ],
)
def test_one_off_instants_from_a_friday_evening_in_berlin(
    fields: dict[str, object], expected: datetime
) -> None:
    planned = plan(request(**fields), FRIDAY_1830_BERLIN, BERLIN)
    assert isinstance(planned, Plan) and planned.rule is None
    assert local(planned.due) == expected


@pytest.mark.parametrize(
    ("fields", "refusal"),
    [
        ({"kind": "at", "date": "2024-05-01", "time": "10:00"}, Refusal.PAST),
        ({"kind": "at", "day": "today", "time": "18:00"}, Refusal.PAST),  # 18:00 was half an hour ago
        ({"kind": "in", "in": {"minutes": -5}}, Refusal.PAST),
        ({"kind": "in", "in": {"minutes": 0}}, Refusal.PAST),
        ({"kind": "in", "in": {"days": 10**30}}, Refusal.TOO_FAR),
        ({"kind": "at", "date": "2040-01-01"}, Refusal.TOO_FAR),
        ({"kind": "at", "date": "2024-02-30"}, Refusal.UNCLEAR),
        ({"kind": "at", "date": "13-45"}, Refusal.UNCLEAR),
        ({"kind": "at"}, Refusal.UNCLEAR),
        ({"kind": "in"}, Refusal.UNCLEAR),
        ({"kind": "unclear", "time": "18:00"}, Refusal.UNCLEAR),
    ],
)
def test_past_far_and_unclear_requests_are_refused(fields: dict[str, object], refusal: Refusal) -> None:
    assert plan(request(**fields), FRIDAY_1830_BERLIN, BERLIN) is refusal


def test_every_monday_at_nine_stays_at_nine_across_the_change_to_summer_time() -> None:
    rule = Rule(time(9, 0), weekday=0)
    first = next_occurrence(rule, datetime(2024, 3, 20, tzinfo=UTC), BERLIN)
    second = next_occurrence(rule, first, BERLIN)
    assert (local(first), local(second)) == (datetime(2024, 3, 25, 9, 0), datetime(2024, 4, 1, 9, 0))
    assert (first.hour, second.hour) == (8, 7), "09:00 CET is 08:00 UTC, 09:00 CEST is 07:00 UTC"


def test_a_time_the_clocks_skip_comes_after_the_gap_and_a_repeated_one_first() -> None:
    skipped = next_occurrence(Rule(time(2, 30)), datetime(2024, 3, 30, 12, 0, tzinfo=UTC), BERLIN)
    assert local(skipped) == datetime(2024, 3, 31, 3, 30)  # 02:30 does not exist that night
    repeated = next_occurrence(Rule(time(2, 30)), datetime(2024, 10, 26, 12, 0, tzinfo=UTC), BERLIN)
    assert repeated == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)  # the first 02:30 (CEST)


def test_the_latest_instant_of_a_weekly_reminder_after_a_long_outage() -> None:
    rule = Rule(time(9, 0), weekday=0)
    due = wall_instant(datetime(2024, 4, 1).date(), time(9, 0), BERLIN)
    now = datetime(2024, 4, 24, 12, 0, tzinfo=UTC)  # three Mondays later, a Wednesday
    assert local(latest_occurrence(rule, due, now, BERLIN)) == datetime(2024, 4, 22, 9, 0)
    assert latest_occurrence(rule, due, due - timedelta(seconds=1), BERLIN) == due


@pytest.mark.parametrize(
    ("wanted", "name"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        (" UTC ", "UTC"),
        ("Mars/Olympus", None),
        ("../../etc/passwd", None),
        ("", None),
        ("x" * 1000, None),
    ],
)
def test_time_zone_names(wanted: str, name: str | None) -> None:
    assert zone_name(wanted) == name


def test_rules_are_written_and_read_back() -> None:
    for rule in (Rule(time(9, 0)), Rule(time(18, 0, 30), 4)):
        assert Rule.decode(rule.encode()) == rule
    for broken in ("weekly 9 09:00:00", "monthly 1 09:00", "daily", "daily 25:00"):
        with pytest.raises(ValueError):
            Rule.decode(broken)


def exists(moment_day: datetime, at: time, zone: ZoneInfo) -> bool:
    """Whether the clocks of `zone` show `at` on that day (not skipped by a change)."""
    instant = wall_instant(moment_day.date(), at, zone)
    return local(instant, zone).time() == at


instants = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2199, 1, 1), timezones=st.just(UTC)
)
rules = st.builds(Rule, st.times(), st.one_of(st.none(), st.integers(0, 6)))


@settings(max_examples=400, deadline=None)
@given(rule=rules, after=instants, zone=st.timezones())
def test_the_next_instant_is_in_the_future_at_the_wall_clock_time_asked(
    rule: Rule, after: datetime, zone: ZoneInfo
) -> None:
    due = next_occurrence(rule, after, zone)
    assert due > after
    assert due - after <= timedelta(days=8, hours=2)
    shown = local(due, zone)
    if shown.time() == rule.at:
        assert rule.matches(shown.date())
    else:  # only when that time does not exist on the day meant: moved past the gap
        meant = next(
            shown - timedelta(days=back)
            for back in (0, 1, 2)
            if rule.matches((shown - timedelta(days=back)).date())
            and wall_instant((shown - timedelta(days=back)).date(), rule.at, zone) == due
        )
        assert not exists(meant, rule.at, zone)
    # No instant of the rule falls between `after` and the one found.
    for back in range(0, 9):
        day = (shown - timedelta(days=back)).date()
        earlier = wall_instant(day, rule.at, zone)
        if rule.matches(day) and after < earlier:
            assert earlier >= due


@settings(max_examples=200, deadline=None)
@given(rule=rules, start=instants, gap_s=st.integers(0, 60 * 86400), zone=st.timezones())
def test_the_latest_instant_after_an_outage_is_an_instant_not_after_now(
    rule: Rule, start: datetime, gap_s: int, zone: ZoneInfo
) -> None:
    due = next_occurrence(rule, start, zone)
    now = due + timedelta(seconds=gap_s)
    latest = latest_occurrence(rule, due, now, zone)
    assert due <= latest <= now
    assert next_occurrence(rule, latest, zone) > now, "a later instant was passed over"


KEYS = ["who", "kind", "date", "day", "weekday", "time", "in", "text", "days", "hours", "minutes", "seconds"]
STRINGS = [
    "me",
    "us",
    "at",
    "in",
    "every",
    "unclear",
    "today",
    "tomorrow",
    "friday",
    "18:00",
    "02-29",
    "2024-05-03",
]


@settings(max_examples=500, deadline=None)
@given(fields=json_like(STRINGS, KEYS), now=instants, zone=st.timezones())
def test_any_request_the_model_could_write_is_planned_in_the_future_or_refused(
    fields: object, now: datetime, zone: ZoneInfo
) -> None:
    try:
        parsed = ReminderRequest.model_validate(fields)
    except ValidationError:
        return
    outcome = plan(parsed, now, zone)
    if isinstance(outcome, Plan):
        assert now < outcome.due <= now + MAX_AHEAD + timedelta(days=1)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(["at", "in", "every", "unclear"]),
    date=st.one_of(st.none(), st.from_regex(r"\A(\d{4}-)?\d{2}-\d{2}\Z")),
    day=st.sampled_from([None, "today", "tomorrow"]),
    weekday=st.sampled_from([None, "monday", "sunday"]),
    at=st.one_of(st.none(), st.times().map(lambda t: t.strftime("%H:%M:%S"))),
    delay=st.one_of(st.none(), st.fixed_dictionaries({"days": st.integers(), "seconds": st.integers()})),
    now=instants,
    zone=st.timezones(),
)
def test_well_formed_requests_of_every_kind_never_raise(
    kind: str,
    date: str | None,
    day: str | None,
    weekday: str | None,
    at: str | None,
    delay: object,
    now: datetime,
    zone: ZoneInfo,
) -> None:
    fields = {"kind": kind, "date": date, "day": day, "weekday": weekday, "time": at, "in": delay}
    outcome = plan(ReminderRequest.model_validate(fields), now, zone)
    assert isinstance(outcome, Refusal) or now < outcome.due
