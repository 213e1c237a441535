"""Per-user rate limit on questions, with at most one polite notice per user a minute."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum

from limits import parse, storage, strategies

NOTICE_INTERVAL_S = 60.0


class Verdict(Enum):
    ALLOW = "allow"
    REFUSE_WITH_NOTICE = "refuse_with_notice"
    REFUSE_QUIETLY = "refuse_quietly"


class UserRateLimiter:
    def __init__(self, rate: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._item = parse(rate)
        self._limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        self._noticed_at: dict[str, float] = {}
        self._clock = clock

    @property
    def description(self) -> str:
        return f"{self._item.amount} per {self._item.get_expiry()} s"

    def check(self, user_id: str) -> Verdict:
        if self._limiter.hit(self._item, user_id):
            return Verdict.ALLOW
        now = self._clock()
        if now - self._noticed_at.get(user_id, float("-inf")) >= NOTICE_INTERVAL_S:
            self._noticed_at[user_id] = now
            return Verdict.REFUSE_WITH_NOTICE
        return Verdict.REFUSE_QUIETLY
