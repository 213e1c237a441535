"""The catch-up summary's argument: every form read exactly (table-driven, asked on
Wednesday 2026-12-02 at 15:30 UTC), every refusal explained, and generated input that
never makes the parser raise or step outside its promised span."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.summary.request import (
    DEFAULT_MESSAGES,
    MAX_MESSAGES,
    MAX_SPAN_DAYS,
    SummaryRequest,
    SummaryRequestError,
    catch_up_request,
    is_catch_up_phrase,
    parse_summary_request,
)

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def _ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


ASKED = _ms(2026, 12, 2, 15, 30)  # a Wednesday


def _since(ms: int, span: str) -> SummaryRequest:
    return SummaryRequest(since_ms=ms, span=span)


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("", SummaryRequest(last=DEFAULT_MESSAGES, span="the last 100 messages")),
        ("   ", SummaryRequest(last=DEFAULT_MESSAGES, span="the last 100 messages")),
        ("200", SummaryRequest(last=200, span="the last 200 messages")),
        ("  200   Messages ", SummaryRequest(last=200, span="the last 200 messages")),
        ("50msgs", SummaryRequest(last=50, span="the last 50 messages")),
        ("1", SummaryRequest(last=1, span="the last 1 message")),
        ("1 message", SummaryRequest(last=1, span="the last 1 message")),
        ("0042", SummaryRequest(last=42, span="the last 42 messages")),
        ("2000", SummaryRequest(last=2000, span="the last 2000 messages")),
        ("2h", _since(ASKED - 2 * HOUR, "the last 2 hours")),
        ("2 H", _since(ASKED - 2 * HOUR, "the last 2 hours")),
        ("1 hour", _since(ASKED - HOUR, "the last 1 hour")),
        ("3 hrs", _since(ASKED - 3 * HOUR, "the last 3 hours")),
        ("90 minutes", _since(ASKED - 90 * MINUTE, "the last 90 minutes")),
        ("90m", _since(ASKED - 90 * MINUTE, "the last 90 minutes")),
        ("1 min", _since(ASKED - MINUTE, "the last 1 minute")),
        ("3d", _since(ASKED - 3 * DAY, "the last 3 days")),
        ("1 w", _since(ASKED - 7 * DAY, "the last 1 week")),
        ("4 weeks", _since(ASKED - 28 * DAY, "the last 4 weeks")),
        ("31 days", _since(ASKED - 31 * DAY, "the last 31 days")),
        ("744h", _since(ASKED - 31 * DAY, "the last 744 hours")),
        ("since today", _since(_ms(2026, 12, 2), "since today (UTC)")),
        ("today", _since(_ms(2026, 12, 2), "since today (UTC)")),
        ("since yesterday", _since(_ms(2026, 12, 1), "since yesterday (UTC)")),
        ("Yesterday", _since(_ms(2026, 12, 1), "since yesterday (UTC)")),
        ("since monday", _since(_ms(2026, 11, 30), "since Monday 30 November (UTC)")),
        ("SINCE   Mon", _since(_ms(2026, 11, 30), "since Monday 30 November (UTC)")),
        ("monday", _since(_ms(2026, 11, 30), "since Monday 30 November (UTC)")),
        ("since wednesday", _since(_ms(2026, 12, 2), "since Wednesday 2 December (UTC)")),
        ("since thu", _since(_ms(2026, 11, 26), "since Thursday 26 November (UTC)")),
        ("since sun", _since(_ms(2026, 11, 29), "since Sunday 29 November (UTC)")),
        ("since 2026-11-20", _since(_ms(2026, 11, 20), "since 2026-11-20 (UTC)")),
        ("since 2026-12-02", _since(_ms(2026, 12, 2), "since 2026-12-02 (UTC)")),
        ("since 2026-11-1", _since(_ms(2026, 11, 1), "since 2026-11-01 (UTC)")),
    ],
)
def test_each_form_reads_as_its_span(argument: str, expected: SummaryRequest) -> None:
    assert parse_summary_request(argument, ASKED) == expected


@pytest.mark.parametrize(
    ("argument", "says"),
    [
        ("0", "1 to 2000 messages, so `0` is out of range"),
        ("-5", "1 to 2000 messages, so `-5` is out of range"),
        ("2001", "1 to 2000 messages, so `2001` is out of range"),
        ("9" * 10_000, "1 to 2000 messages, so `" + "9" * 39 + "…` is out of range"),
        ("0h", "1 minute to 31 days, so `0h` is out of range"),
        ("-2h", "1 minute to 31 days"),
        ("32d", "1 minute to 31 days, so `32d` is out of range"),
        ("745 hours", "1 minute to 31 days"),
        ("5 weeks", "1 minute to 31 days"),
        ("9" * 5_000 + "m", "1 minute to 31 days"),
        ("since 2026-12-03", "`2026-12-03` is in the future"),
        ("since 2026-10-31", "`2026-10-31` is more than 31 days ago"),
        ("since 2026-02-30", "could not read `2026-02-30` as a date; write it as year-month-day"),
        ("since 0000-01-01", "could not read `0000-01-01` as a date"),
        ("soon", "I could not read `soon` as a span. Try `!summary 200`"),
        ("since", "I could not read `since` as a span"),
        ("since last week", "I could not read `since last week` as a span"),
        ("2026-11-20", "I could not read `2026-11-20` as a span"),
        ("2 fortnights", "I could not read `2 fortnights` as a span"),
        ("٣", "I could not read `٣` as a span"),  # an Arabic-Indic three: not one of our digits
        ("two hours", "I could not read `two hours` as a span"),
        ("a`b", "I could not read ``a`b`` as a span"),  # a backtick stays code, never Markdown
        ("x" * 100, "I could not read `" + "x" * 39 + "…` as a span"),
        ("line\nbreak", "I could not read `line break` as a span"),
    ],
)
def test_what_cannot_be_read_is_explained(argument: str, says: str) -> None:
    result = parse_summary_request(argument, ASKED)
    assert isinstance(result, SummaryRequestError)
    assert says in result.message


def test_a_bad_date_suggests_a_date_that_works() -> None:
    result = parse_summary_request("since 2026-13-01", ASKED)
    assert isinstance(result, SummaryRequestError)
    assert "`!summary since 2026-12-01`" in result.message
    assert parse_summary_request("since 2026-12-01", ASKED) == _since(
        _ms(2026, 12, 1), "since 2026-12-01 (UTC)"
    )


def test_catch_up_request() -> None:
    assert catch_up_request() == SummaryRequest(catch_up=True, span="since your last message")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what did I miss", True),
        ("what did i miss?", True),
        ("What did I miss ?!", True),
        ("  WHAT   did\ti  miss.  ", True),
        ("what did I miss today?", False),
        ("so what did I miss", False),
        ("what did you miss", False),
        ("what did I miss, and why", False),
        ("", False),
    ],
)
def test_is_catch_up_phrase(text: str, expected: bool) -> None:
    assert is_catch_up_phrase(text) is expected


# --- generated input -----------------------------------------------------------------

UNITS = {
    **dict.fromkeys(["m", "min", "mins", "minute", "minutes"], MINUTE),
    **dict.fromkeys(["h", "hr", "hrs", "hour", "hours"], HOUR),
    **dict.fromkeys(["d", "day", "days"], DAY),
    **dict.fromkeys(["w", "week", "weeks"], 7 * DAY),
}
ANY_TIME = st.integers(min_value=-(2**63), max_value=2**63)
PLAUSIBLE_TIME = st.integers(min_value=0, max_value=_ms(2100, 1, 1))
SPACES = st.text(alphabet=" \t\u00a0\u2003", max_size=3)
HUGE_NUMBERS = st.builds(
    lambda n, sign, unit: sign + "9" * n + unit,
    st.integers(min_value=5, max_value=20_000),
    st.sampled_from(["", "-"]),
    st.sampled_from(["", "h", " messages", "d"]),
)
ANY_ARGUMENT = st.one_of(st.text(), HUGE_NUMBERS, st.from_regex(r"\A(since )?[\w -]{0,20}\Z"))


@given(ANY_ARGUMENT, ANY_TIME)
def test_any_argument_is_read_or_refused_the_same_way_every_time(argument: str, asked_ms: int) -> None:
    result = parse_summary_request(argument, asked_ms)
    assert isinstance(result, SummaryRequest | SummaryRequestError)
    assert parse_summary_request(argument, asked_ms) == result
    if isinstance(result, SummaryRequestError):
        assert 0 < len(result.message) < 300
        return
    assert result.span and not result.catch_up
    assert (result.last is None) != (result.since_ms is None)
    if result.since_ms is not None:
        start_of_day = asked_ms - asked_ms % DAY
        assert start_of_day - MAX_SPAN_DAYS * DAY <= result.since_ms <= asked_ms


@given(st.integers(min_value=1, max_value=MAX_MESSAGES), SPACES, SPACES, st.sampled_from(["", " msgs"]))
def test_any_count_in_range_is_the_last_n(n: int, before: str, after: str, suffix: str) -> None:
    result = parse_summary_request(f"{before}{n}{suffix}{after}", ASKED)
    assert isinstance(result, SummaryRequest) and result.last == n and result.since_ms is None


@given(
    st.integers(min_value=0, max_value=100_000), st.sampled_from(sorted(UNITS)), st.booleans(), PLAUSIBLE_TIME
)
def test_any_duration_stays_within_the_span_limit(n: int, unit: str, spaced: bool, asked_ms: int) -> None:
    result = parse_summary_request(f"{n}{' ' if spaced else ''}{unit}", asked_ms)
    if 1 <= n * UNITS[unit] <= MAX_SPAN_DAYS * DAY:
        assert isinstance(result, SummaryRequest)
        assert result.since_ms == asked_ms - n * UNITS[unit]
        assert asked_ms - MAX_SPAN_DAYS * DAY <= result.since_ms <= asked_ms
    else:
        assert isinstance(result, SummaryRequestError)


WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


@given(st.integers(min_value=0, max_value=6), st.booleans(), PLAUSIBLE_TIME)
def test_since_a_weekday_is_its_latest_midnight(weekday: int, short: bool, asked_ms: int) -> None:
    word = WEEKDAYS[weekday][:3] if short else WEEKDAYS[weekday]
    result = parse_summary_request(f"since {word}", asked_ms)
    assert isinstance(result, SummaryRequest) and result.since_ms is not None
    since = datetime.fromtimestamp(result.since_ms / 1000, UTC)
    assert since.weekday() == weekday and since.time() == datetime.min.time()
    assert asked_ms - 7 * DAY < result.since_ms <= asked_ms
    assert (
        result.span.startswith(f"since {WEEKDAYS[weekday].title()} {since.day} ") and "(UTC)" in result.span
    )


@given(st.integers(min_value=-40, max_value=40), PLAUSIBLE_TIME)
def test_since_a_date_is_refused_in_the_future_or_too_far_back(days_ago: int, asked_ms: int) -> None:
    asked_day = datetime.fromtimestamp(asked_ms // DAY * DAY / 1000, UTC)
    wanted = asked_day - timedelta(days=days_ago)
    result = parse_summary_request(f"since {wanted:%Y-%m-%d}", asked_ms)
    if 0 <= days_ago <= MAX_SPAN_DAYS:
        assert result == _since(int(wanted.timestamp() * 1000), f"since {wanted:%Y-%m-%d} (UTC)")
    else:
        assert isinstance(result, SummaryRequestError)


@given(st.lists(st.text(alphabet=" \t\u00a0", min_size=1, max_size=3), min_size=4, max_size=4), st.data())
def test_the_catch_up_phrase_in_any_spacing_and_case(gaps: list[str], data: st.DataObject) -> None:
    words = ["what", "did", "i", "miss"]
    text = "".join(word + gap for word, gap in zip(words, [*gaps[:3], ""], strict=True))
    text = "".join(c.upper() if data.draw(st.booleans()) else c for c in text)
    ending = data.draw(st.from_regex(r"\A[?!. ]{0,4}\Z"))
    assert is_catch_up_phrase(gaps[3] + text + ending)
    assert not is_catch_up_phrase(text + ending + " " + data.draw(st.from_regex(r"\A\w+\Z")))


@given(st.text())
def test_any_text_is_or_is_not_the_catch_up_phrase_without_raising(text: str) -> None:
    assert is_catch_up_phrase(text) in (True, False)
