"""Fair turns for vendor work: a fixed number of workers, handed out one call at a time.

Work comes in two lanes. ``PEOPLE``: what a person asked for (a command, a button), queued per user and served
round-robin, at most ``per_user`` of one user's calls at once, so one user's 500 queued resends delay another's
single one by about one call, not by the 500. ``BACKGROUND``: the scheduled jobs (the alert job's lookups), at most
``background`` at once, served only when no person's call is waiting. Both lanes share the same workers (and the
vendor's rate limit, which serves the same claimants in the same order: bot/vendors/rate_limit.py).

Who goes next is fair.py's order. A turn is an ``async with turns.turn(lane, user):`` around one vendor call (its
retries included): the caller's own task runs the call, so its context (the request's ids on log lines) goes with
it, and so does whom the call is for (``claimant()``), for the rate limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from bot.work.fair import Claimant, FairQueue, Lane, claiming

WORKERS = 50  # calls in flight in all (the vendor client's connection pool holds as many)
PER_USER = 8  # one person's calls in flight at once
BACKGROUND = 16  # the scheduled jobs' calls in flight at once
_SMOOTHING = 0.1  # weight of the newest call in the average call time


class Turns:
    def __init__(self, workers: int = WORKERS, *, per_user: int = PER_USER, background: int = BACKGROUND,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if min(workers, per_user, background) < 1:
            raise ValueError("workers, per_user and background must be at least 1")
        self.workers = workers
        self.per_user = per_user
        self.background = background
        self._clock = clock
        self._free = workers
        self._running: dict[Claimant, int] = {}
        self._waiting: FairQueue[asyncio.Future[None]] = FairQueue()
        self.call_seconds = 0.0  # a moving average of how long a turn lasts (0: none yet)

    # Asking for a turn -------------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def turn(self, lane: Lane, user: str = "") -> AsyncIterator[None]:
        who = Claimant(lane, user if lane is Lane.PEOPLE else "")
        await self._acquire(who)
        started = self._clock()
        try:
            with claiming(who):
                yield
        finally:
            self._observe(self._clock() - started)
            self._release(who)

    async def _acquire(self, who: Claimant) -> None:
        if self._free > 0 and not self._waiting.waiting(who) and self._room(who):
            self._start(who)
            self._waiting.served(who)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.push(who, future)
        try:
            await future
        except asyncio.CancelledError:
            if not self._waiting.remove(who, future):  # granted as the caller gave up: hand the turn on
                self._release(who)
            raise

    def _room(self, who: Claimant) -> bool:
        cap = self.per_user if who.lane is Lane.PEOPLE else self.background
        return self._running.get(who, 0) < cap

    def _start(self, who: Claimant) -> None:
        self._free -= 1
        self._running[who] = self._running.get(who, 0) + 1

    def _release(self, who: Claimant) -> None:
        self._free += 1
        left = self._running[who] - 1
        if left:
            self._running[who] = left
        else:
            del self._running[who]
        self._dispatch()

    def _dispatch(self) -> None:
        """Hand free workers to the fairest waiting calls (fair.py's order), each user within its share."""
        while self._free > 0:
            chosen = self._waiting.pop(self._room)
            if chosen is None:
                return
            who, future = chosen
            self._start(who)
            future.set_result(None)

    # What the bot tells a person who must wait -----------------------------------------------------------------

    def _observe(self, seconds: float) -> None:
        self.call_seconds = seconds if not self.call_seconds else (
            (1 - _SMOOTHING) * self.call_seconds + _SMOOTHING * seconds)

    def calls_per_second(self, *, one_user: bool = False) -> float:
        """How many calls a second the workers get through (one user's at most ``per_user`` at once), going by the
        average call so far; 0 when no call has finished yet."""
        if not self.call_seconds:
            return 0.0
        return (self.per_user if one_user else self.workers) / self.call_seconds

    @property
    def running(self) -> int:
        return self.workers - self._free

    @property
    def waiting(self) -> int:
        return len(self._waiting)
