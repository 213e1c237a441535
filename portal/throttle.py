"""Throttles for sign-up and login, per client address and per account."""

from __future__ import annotations

import math
import time

from limits import parse, storage, strategies


class Throttle:
    def __init__(self, rate: str) -> None:
        self._item = parse(rate)
        self._limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())

    def retry_after(self, key: str) -> int | None:
        """Count an attempt for `key`; seconds to wait when it is over the limit, else None."""
        if self._limiter.hit(self._item, key):
            return None
        reset = self._limiter.get_window_stats(self._item, key).reset_time
        return max(1, math.ceil(reset - time.time()))


class PerUserSlots:
    """At most `per_user` pieces of work in flight for one person (media downloads, say),
    so one person cannot hold every upstream connection the portal has."""

    def __init__(self, per_user: int) -> None:
        self._per_user = per_user
        self._in_use: dict[str, int] = {}

    def try_take(self, user_id: str) -> bool:
        if self._in_use.get(user_id, 0) >= self._per_user:
            return False
        self._in_use[user_id] = self._in_use.get(user_id, 0) + 1
        return True

    def give_back(self, user_id: str) -> None:
        left = self._in_use.get(user_id, 1) - 1
        if left > 0:
            self._in_use[user_id] = left
        else:
            self._in_use.pop(user_id, None)
