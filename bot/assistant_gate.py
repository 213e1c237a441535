"""Whether the assistant answers this person now: the admins' access rule (everyone, a
list of people, or members of chosen rooms) and their daily quota, applied with the pure
rules of `common.assistant_policy` to the policy and usage in the app database. A refusal
is one sentence the person is told; it is never silence and never an error."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Protocol

from appdb.conversations import InTransaction
from appdb.policy_store import PolicyStore
from appdb.usage import Spent, UsageStore, today
from bot import strings
from common.assistant_policy import Quota, may_use, quota_left, quota_reached


class Membership(Protocol):
    async def is_member(self, room_id: str, user_id: str) -> bool: ...


def _limit_words(quota: Quota, reached: str) -> str:
    if reached == "answers":
        count = quota.answers_per_day or 0
        return f"{count} answer{'' if count == 1 else 's'} a day"
    count = quota.tokens_per_day or 0
    return f"{count:,} token{'' if count == 1 else 's'} a day"


class AssistantGate:
    def __init__(
        self, policy: PolicyStore, usage: UsageStore, rooms: Membership, day: Callable[[], date] = today
    ) -> None:
        self._policy = policy
        self._usage = usage
        self._rooms = rooms
        self._day = day  # the quota's day (UTC); a test moves it past midnight

    async def refusal(self, user_id: str) -> str | None:
        """What to tell `user_id` instead of answering, or None to answer."""
        policy = await self._policy.current()
        joined: set[str] = set()
        if policy.access.mode == "rooms":
            joined = {room for room in policy.access.rooms if await self._rooms.is_member(room, user_id)}
        if not may_use(policy.access, user_id, joined.__contains__):
            return strings.ACCESS_REFUSED
        if policy.quota == Quota():
            return None
        reached = quota_reached(policy.quota, await self._usage.used(user_id, self._day()))
        return strings.QUOTA_REACHED.format(limit=_limit_words(policy.quota, reached)) if reached else None

    async def quota_left(self, user_id: str) -> str | None:
        """What is left of today's quota, in words; None when there is no quota."""
        policy = await self._policy.current()
        if policy.quota == Quota():
            return None
        return quota_left(policy.quota, await self._usage.used(user_id, self._day()))

    def count(self, user_id: str, room_id: str, model: str, spent: Spent) -> InTransaction:
        return self._usage.count(user_id, room_id, model, spent, self._day())
