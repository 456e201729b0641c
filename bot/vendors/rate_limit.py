"""A sliding-window rate limiter: never more than ``limit`` starts in any ``period`` seconds.

Vendors count requests per rolling minute, so a token bucket (which allows a full burst and then a steady
rate in the same minute) can exceed their limit; this keeps the exact sliding-window promise instead.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable


class SlidingWindowLimiter:
    def __init__(
        self,
        limit: int,
        period: float = 60.0,
        *,
        margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.period = period
        # A little slack so a server that timestamps on receipt never sees limit + 1 in its window.
        self._span = period + margin
        self._clock = clock
        self._starts: collections.deque[float] = collections.deque()
        self._lock = asyncio.Lock()
        self._paused_until = 0.0

    async def acquire(self) -> None:
        """Wait until one more request fits in the window, then count it."""
        async with self._lock:  # FIFO: waiters are served in arrival order
            while True:
                now = self._clock()
                while self._starts and now - self._starts[0] >= self._span:
                    self._starts.popleft()
                wait = max(self._paused_until - now, 0.0)
                if len(self._starts) >= self.limit:
                    wait = max(wait, self._starts[0] + self._span - now)
                if wait <= 0:
                    self._starts.append(now)
                    return
                await asyncio.sleep(wait)

    def back_off(self, seconds: float) -> None:
        """Hold every caller for ``seconds`` (the vendor said 429 or 503): slow down instead of failing."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
