"""What a catch-up summary covers: the argument of `!summary <argument>` read as the last N
messages, the messages since a moment (a duration ago, or the start of a calendar day in
UTC), or, for "what did I miss", the messages since the asker's own last one. Pure: the
question's own timestamp is passed in, and nothing is read from the clock."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from bot.formatting import code_span

DEFAULT_MESSAGES = 100
MAX_MESSAGES = 2000
MAX_SPAN_DAYS = 31

_MINUTE_MS = 60_000
_DAY_MS = 86_400_000
_EPOCH = date(1970, 1, 1)  # a Thursday: day number n is weekday (n + 3) % 7, Monday being 0
_MAX_DIGITS = 6  # a number with more significant digits is out of every range: never int() it
_ECHO_LIMIT = 40

_COUNT = re.compile(r"([-−]?)(\d+) ?(?:messages?|msgs)?", re.ASCII)
_DURATION = re.compile(r"([-−]?)(\d+) ?([a-z]+)", re.ASCII)
_DAY_WORD = re.compile(r"(?:since )?([a-z]+)", re.ASCII)
_DATE = re.compile(r"since ((\d{4})-(\d{1,2})-(\d{1,2}))", re.ASCII)
_CATCH_UP = re.compile(r"what\s+did\s+i\s+miss[?!.\s]*")

_UNITS: dict[str, tuple[int, str]] = {
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), (_MINUTE_MS, "minute")),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), (60 * _MINUTE_MS, "hour")),
    **dict.fromkeys(("d", "day", "days"), (_DAY_MS, "day")),
    **dict.fromkeys(("w", "week", "weeks"), (7 * _DAY_MS, "week")),
}
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAY_WORDS = {word: i for i, name in enumerate(_WEEKDAYS) for word in (name.lower(), name[:3].lower())}
_MONTHS: tuple[str, ...] = ("January", "February", "March", "April", "May", "June")
_MONTHS += ("July", "August", "September", "October", "November", "December")

# The sentences people see (to move into bot/strings.py when the command is wired in).
NOT_UNDERSTOOD = (
    "I could not read {said} as a span. Try `!summary 200`, `!summary 2h` or `!summary since monday`."
)
COUNT_OUT_OF_RANGE = "I can summarize 1 to {most} messages, so {said} is out of range; try `!summary 200`."
DURATION_OUT_OF_RANGE = (
    "I can look back from 1 minute to {days} days, so {said} is out of range; "
    "try `!summary 2h` or `!summary 7d`."
)
NOT_A_DATE = "I could not read {said} as a date; write it as year-month-day, like `!summary since {example}`."
FUTURE_DATE = "{said} is in the future, so there is nothing to summarize yet; try `!summary since yesterday`."
OLD_DATE = (
    "{said} is more than {days} days ago, further back than I can summarize; try `!summary since monday`."
)


@dataclass(frozen=True)
class SummaryRequest:
    last: int | None = None  # the last N messages
    since_ms: int | None = None  # messages sent at or after this time (Unix ms)
    catch_up: bool = False  # since the asker's own last message
    span: str = ""  # the span in words, for the summary's first line


@dataclass(frozen=True)
class SummaryRequestError:
    message: str  # for the person who asked: what was not understood, and what works


def parse_summary_request(argument: str, asked_ms: int) -> SummaryRequest | SummaryRequestError:
    """The span `argument` asks for, `asked_ms` being the question's own time (Unix ms, UTC).
    Never raises: whatever cannot be read is a SummaryRequestError saying why."""
    text = " ".join(argument.lower().split())
    if not text:
        return SummaryRequest(last=DEFAULT_MESSAGES, span=f"the last {DEFAULT_MESSAGES} messages")
    said = _quote(argument)
    result = _count(text, said) or _duration(text, asked_ms, said) or _calendar(text, asked_ms)
    return result or SummaryRequestError(NOT_UNDERSTOOD.format(said=said))


def catch_up_request() -> SummaryRequest:
    return SummaryRequest(catch_up=True, span="since your last message")


def is_catch_up_phrase(text: str) -> bool:
    """Whether `text` is just "what did I miss", in any case and spacing, with at most
    `?`, `!` or `.` after it."""
    return _CATCH_UP.fullmatch(text.strip().lower()) is not None


def _count(text: str, said: str) -> SummaryRequest | SummaryRequestError | None:
    match = _COUNT.fullmatch(text)
    if match is None:
        return None
    n = _number(match[2])
    if match[1] or n is None or not 1 <= n <= MAX_MESSAGES:
        return SummaryRequestError(COUNT_OUT_OF_RANGE.format(most=MAX_MESSAGES, said=said))
    return SummaryRequest(last=n, span=f"the last {_plural(n, 'message')}")


def _duration(text: str, asked_ms: int, said: str) -> SummaryRequest | SummaryRequestError | None:
    match = _DURATION.fullmatch(text)
    if match is None or match[3] not in _UNITS:
        return None
    unit_ms, unit = _UNITS[match[3]]
    n = _number(match[2])
    if match[1] or n is None or not 1 <= n * unit_ms <= MAX_SPAN_DAYS * _DAY_MS:
        return SummaryRequestError(DURATION_OUT_OF_RANGE.format(days=MAX_SPAN_DAYS, said=said))
    return SummaryRequest(since_ms=asked_ms - n * unit_ms, span=f"the last {_plural(n, unit)}")


def _calendar(text: str, asked_ms: int) -> SummaryRequest | SummaryRequestError | None:
    today = asked_ms // _DAY_MS  # days since 1970-01-01, UTC
    if (match := _DATE.fullmatch(text)) is not None:
        return _since_date(match, today)
    word = match[1] if (match := _DAY_WORD.fullmatch(text)) else ""
    if word == "today":
        day, words = today, "today"
    elif word == "yesterday":
        day, words = today - 1, "yesterday"
    elif word in _WEEKDAY_WORDS:
        day = today - (today + 3 - _WEEKDAY_WORDS[word]) % 7
        words = _day_in_words(day)
    else:
        return None
    return SummaryRequest(since_ms=day * _DAY_MS, span=f"since {words} (UTC)")


def _since_date(match: re.Match[str], today: int) -> SummaryRequestError | SummaryRequest:
    said = _quote(match[1])
    try:
        wanted = date(int(match[2]), int(match[3]), int(match[4]))
    except ValueError:
        yesterday = _date_of(today - 1)
        example = yesterday.isoformat() if yesterday else "2026-11-20"
        return SummaryRequestError(NOT_A_DATE.format(said=said, example=example))
    day = (wanted - _EPOCH).days
    if day > today:
        return SummaryRequestError(FUTURE_DATE.format(said=said))
    if today - day > MAX_SPAN_DAYS:
        return SummaryRequestError(OLD_DATE.format(said=said, days=MAX_SPAN_DAYS))
    return SummaryRequest(since_ms=day * _DAY_MS, span=f"since {wanted.isoformat()} (UTC)")


def _date_of(day: int) -> date | None:
    try:
        return _EPOCH + timedelta(days=day)
    except OverflowError:
        return None


def _day_in_words(day: int) -> str:
    """Like "Monday 30 November"; the weekday alone for a day outside the calendar."""
    weekday = _WEEKDAYS[(day + 3) % 7]
    when = _date_of(day)
    return f"{weekday} {when.day} {_MONTHS[when.month - 1]}" if when else weekday


def _number(digits: str) -> int | None:
    """The value of ASCII digits; None when it is too long to be in any range (checked
    before int(), so a 10,000-digit argument costs nothing)."""
    significant = digits.lstrip("0")
    return int(significant or "0") if len(significant) <= _MAX_DIGITS else None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _quote(text: str) -> str:
    """What the person typed, on one line and cut to 40 characters, as Markdown code: never
    a link or formatting in the bot's voice."""
    return code_span(text, _ECHO_LIMIT)
