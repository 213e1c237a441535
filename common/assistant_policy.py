"""What admins decide about the assistant, as values, and the pure rules that apply it:
who may use it (everyone, a list of people, or members of chosen rooms), the daily quota
(answers or model tokens per person), and which models people may pick. The app database
keeps it (`appdb.policy_store`); the bot applies it, the portal's admin area edits it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

ACCESS_MODES = ("everyone", "people", "rooms")


@dataclass(frozen=True)
class AssistantAccess:
    mode: str = "everyone"
    people: frozenset[str] = frozenset()  # user ids, when mode is "people"
    rooms: frozenset[str] = frozenset()  # room ids, when mode is "rooms"


@dataclass(frozen=True)
class Quota:
    answers_per_day: int | None = None  # None: no limit
    tokens_per_day: int | None = None  # tokens in and out together


@dataclass(frozen=True)
class Used:
    answers: int = 0
    tokens: int = 0


@dataclass(frozen=True)
class Policy:
    access: AssistantAccess = field(default_factory=AssistantAccess)
    quota: Quota = field(default_factory=Quota)
    allowed_models: frozenset[str] | None = None  # None: every chat model Ollama has


def may_use(access: AssistantAccess, user_id: str, is_member: Callable[[str], bool]) -> bool:
    if access.mode == "people":
        return user_id in access.people
    if access.mode == "rooms":
        return any(is_member(room_id) for room_id in access.rooms)
    return True


def quota_reached(quota: Quota, used: Used) -> str | None:
    """Which daily limit `used` has reached ("answers" or "tokens"), or None."""
    if quota.answers_per_day is not None and used.answers >= quota.answers_per_day:
        return "answers"
    if quota.tokens_per_day is not None and used.tokens >= quota.tokens_per_day:
        return "tokens"
    return None


def quota_left(quota: Quota, used: Used) -> str | None:
    """What is left today, in words; None when there is no quota."""
    parts = []
    if quota.answers_per_day is not None:
        parts.append(f"{max(0, quota.answers_per_day - used.answers)} of {quota.answers_per_day} answers")
    if quota.tokens_per_day is not None:
        parts.append(f"{max(0, quota.tokens_per_day - used.tokens):,} of {quota.tokens_per_day:,} tokens")
    return " and ".join(parts) + " left today (the day ends at midnight UTC)" if parts else None


def offered(names: Iterable[str], allowed: frozenset[str] | None) -> list[str]:
    """The models people may pick, of `names` (in their order)."""
    return [name for name in names if allowed is None or name in allowed]
