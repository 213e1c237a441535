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
