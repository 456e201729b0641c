"""A vendor's rate limit: at most ``limit`` calls in any ``period`` (60 s) as the vendor counts them, paced evenly,
shared by every replica that shares a ledger (the store), and handed out fairly.

Calls go out on a grid of send times, one every ``spacing`` seconds: no two calls share a grid point, so however
the points are divided between replicas, any window of ``period + margin`` seconds holds no more points than the
grid allows. A call is sent no earlier than ``EARLY`` before its point and no later than ``LATE`` after it (a point
the event loop could not use in time is given up, and the call waits for another), so the rest of ``margin``
absorbs the network's jitter: the vendor, counting arrivals, never sees more than ``limit`` in any ``period``. The
grid spreads calls evenly instead of spending a minute's allowance in a burst and then waiting out the minute, so a
person's call never waits long for a free point.

A second, sparse grid lets a few calls go at once when the limit is idle (a person's three-call action should not
wait for three points): each of its ``burst`` points per window may be used up to ``burst - 1`` of its spacings
early, so a window can hold ``2 * burst - 1`` of them, and the main grid holds ``limit - (2 * burst - 1)``.

Grid points are taken from a :class:`Ledger`, in slices of ``per_slice`` consecutive points: a row per slice in the
store (bot/store/rate_slices.py) for replicas that share a database, each taking points with one atomic statement;
an in-process one otherwise. Points are taken a moment ahead only (``HORIZON``), for the callers waiting now.

Callers waiting for a point are served in bot/work/fair.py's order (a person's before the background's, round-robin
over users), so the fairness of the workers is not undone here. ``back_off`` holds everyone (a 429 or 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from bot.work.fair import FairQueue, claimant

log = logging.getLogger("commops.rate_limit")

PERIOD = 60.0
MARGIN = 0.5  # seconds of the window kept free: EARLY + LATE + the network's jitter (and replicas' clock skew)
EARLY = 0.01  # a call may go this much before its grid point (the event loop's timer granularity)
LATE = 0.2  # ... and this much after it; later, the point is given up
SLICE_SECONDS = 0.05  # grid points are kept in the ledger in slices about this long (at least one point each)
HORIZON = 1.0  # points are taken at most this far ahead (or two points ahead, at a slow rate)
BURST_SHARE = 20  # calls that may go at once when the limit is idle: one per this many of the limit ...
MIN_BURST, MAX_BURST = 2, 10  # ... and at least, at most this many
PRUNE_EVERY = PERIOD


class Ledger(Protocol):
    """Where grid points are taken, slice by slice, atomically among all who share it."""

    async def take(self, name: str, wants: Sequence[tuple[int, int]], per_slice: int) -> list[tuple[int, int, int]]:
        """For each ``(slice, count)`` of ``wants``, take up to ``count`` of the slice's ``per_slice`` points that
        nobody took yet; returns ``(slice, first, count)`` for what was taken, in slice order: points ``first`` to
        ``first + count - 1`` of the slice."""
        ...

    async def prune(self, name: str, before: int) -> None:
        """Forget the slices before ``before``."""
        ...


class LocalLedger:
    """A ledger for one process (no store to share)."""

    def __init__(self) -> None:
        self._used: dict[tuple[str, int], int] = {}

    async def take(self, name: str, wants: Sequence[tuple[int, int]], per_slice: int) -> list[tuple[int, int, int]]:
        taken = []
        for number, count in wants:
            used = self._used.get((name, number), 0)
            granted = min(count, per_slice - used)
            if granted > 0:
                self._used[(name, number)] = used + granted
                taken.append((number, used, granted))
        return taken

    async def prune(self, name: str, before: int) -> None:
        for key in [key for key in self._used if key[0] == name and key[1] < before]:
            del self._used[key]


class _Grid:
    """``points`` send times a window of ``window`` seconds, usable up to ``ahead`` seconds early: the points taken
    and not handed out yet, and the next slice to ask the ledger for."""

    def __init__(self, name: str, points: int, window: float, ahead: float = 0.0) -> None:
        self.name = name
        self.spacing = window / points * (1 + 1e-9)  # just over: a window never holds points + 1
        self.per_slice = max(1, round(SLICE_SECONDS / self.spacing))
        self.ahead = ahead
        self.free: deque[float] = deque()
        self.next_slice = 0

    def drop_stale(self, now: float) -> None:
        while self.free and self.free[0] + LATE < now:
            self.free.popleft()  # passed unused (nobody waited, or a pause)

    def usable(self, now: float) -> bool:
        return bool(self.free) and self.free[0] - EARLY - self.ahead <= now

    def wants(self, now: float, wanted: int) -> list[tuple[int, int]]:
        """Whole slices not asked for yet, from now to the horizon, enough for ``wanted`` points."""
        slice_seconds = self.per_slice * self.spacing
        first = max(self.next_slice, math.floor((now - LATE) / slice_seconds))
        last = math.floor((now + max(HORIZON, 2 * self.spacing) + self.ahead) / slice_seconds)
        count = min(math.ceil(wanted / self.per_slice), last - first + 1)
        if count <= 0:
            return []
        self.next_slice = first + count  # asked once: what others took before us stays theirs
        return [(number, self.per_slice) for number in range(first, first + count)]

    def add(self, taken: Sequence[tuple[int, int, int]]) -> None:
        for number, start, count in taken:  # in slice order, after every slice asked before: the points stay sorted
            base = number * self.per_slice + start
            self.free.extend((base + offset) * self.spacing for offset in range(count))


class RateLimiter:
    def __init__(
        self,
        limit: int,
        *,
        name: str = "vendor",
        period: float = PERIOD,
        margin: float = MARGIN,
        burst: int | None = None,
        ledger: Ledger | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if margin <= EARLY + LATE:
            raise ValueError(f"margin must be more than {EARLY + LATE:g} s")
        burst = max(MIN_BURST, min(MAX_BURST, limit // BURST_SHARE)) if burst is None else burst
        if burst < 2 or 2 * (2 * burst - 1) > limit:
            burst = 0  # too small a limit to set points aside: every call on the main grid
        self.limit = limit
        self.name = name
        self.period = period
        window = period + margin
        self.main = _Grid(name, limit - max(0, 2 * burst - 1), window)
        self.burst = _Grid(f"{name}:burst", burst, window, ahead=(burst - 1) * window / burst) if burst else None
        self.ledger: Ledger = ledger or LocalLedger()
        self._clock = clock
        self._sleep = sleep
        self._waiting: FairQueue[asyncio.Future[float]] = FairQueue()
        self._paused_until = 0.0
        self._pruned_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._failures = 0

    @property
    def calls_per_second(self) -> float:
        """The steady pace the limit allows."""
        per_second = 1 / self.main.spacing
        if self.burst is not None:
            per_second += 1 / self.burst.spacing
        return per_second

    def share(self, ledger: Ledger) -> None:
        """Take grid points from ``ledger`` from now on (the store, shared by every replica)."""
        self.ledger = ledger

    async def acquire(self) -> None:
        """Wait for this call's turn and send time; returns when the call may go, right now."""
        who = claimant()
        while True:
            future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
            self._waiting.push(who, future)
            self._wake()
            try:
                point = await future
            except asyncio.CancelledError:
                self._waiting.remove(who, future)
                raise
            if self._clock() <= point + LATE:  # checked here, as late as possible before the call is sent
                return
            log.debug("a send time passed before its call could go (the event loop was busy); waiting for another")

    def back_off(self, seconds: float) -> None:
        """Hold every caller for ``seconds`` (the vendor said 429 or 503): slow down instead of failing."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # Handing out send times --------------------------------------------------------------------------------------

    def _wake(self) -> None:
        if self._task is None or self._task.done():
            # A context of its own: it serves every caller, not the first one's request.
            self._task = asyncio.get_running_loop().create_task(self._hand_out(), name=f"{self.name} rate limit",
                                                                context=contextvars.Context())

    async def _hand_out(self) -> None:
        grids = [self.main] if self.burst is None else [self.main, self.burst]
        while len(self._waiting):
            now = self._clock()
            if self._paused_until > now:
                await self._sleep(self._paused_until - now)
                continue
            for grid in grids:
                grid.drop_stale(now)
            ready = next((grid for grid in grids if grid.usable(now)), None)
            if ready is not None:
                chosen = self._waiting.pop()
                if chosen is None:
                    return
                chosen[1].set_result(ready.free.popleft())
                continue
            asked = False
            for grid in grids:
                if len(grid.free) < len(self._waiting):
                    asked = await self._take(grid, now) or asked
            if asked:
                continue  # time went by while the ledger answered: look again
            due = [grid.free[0] - EARLY - grid.ahead for grid in grids if grid.free]
            await self._sleep(max(min(due) - now, 0.001) if due else min(self.main.spacing, HORIZON) / 2)

    async def _take(self, grid: _Grid, now: float) -> bool:
        """Take points of ``grid`` for the callers waiting; False when there was nothing left to ask for yet."""
        wants = grid.wants(now, len(self._waiting) - len(grid.free))
        if not wants:
            return False
        try:
            taken = await self.ledger.take(grid.name, wants, grid.per_slice)
        except Exception as error:  # the store is failing: nothing goes out until it answers again
            self._failures += 1
            if self._failures == 1 or self._failures % 100 == 0:
                log.warning("%s rate limit: cannot take send times from the store (%s); calls wait",
                            self.name, type(error).__name__)
            await self._sleep(min(1.0, 0.05 * self._failures))
            return True
        self._failures = 0
        grid.add(taken)
        await self._prune(now)
        return True

    async def _prune(self, now: float) -> None:
        if now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        for grid in (self.main, self.burst):
            if grid is None:
                continue
            before = math.floor((now - 2 * self.period - grid.ahead) / (grid.per_slice * grid.spacing))
            try:
                await self.ledger.prune(grid.name, before)
            except Exception as error:  # the next prune tries again
                log.warning("%s rate limit: could not prune old slices (%s)", self.name, type(error).__name__)
