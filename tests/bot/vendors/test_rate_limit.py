"""The vendor rate limit: never more calls than the limit in any window, even across limiters sharing one store (on
SQLite and PostgreSQL); callers served in the fair order; a back-off holds everyone."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import time

from bot.store.engine import Store
from bot.store.rate_slices import StoreLedger
from bot.store.schema import upgrade
from bot.vendors.rate_limit import LocalLedger, RateLimiter
from bot.work import Claimant, Lane
from bot.work.fair import claiming


def most_in_any_window(times: list[float], period: float) -> int:
    """The most send times in any half-open window (t - period, t] (how the vendor counts)."""
    ordered = sorted(times)
    return max((index + 1 - bisect.bisect_right(ordered, at - period) for index, at in enumerate(ordered)), default=0)


async def flood(limiter: RateLimiter, callers: int, until: float, sent: list[float]) -> None:
    async def caller() -> None:
        while time.time() < until:
            await limiter.acquire()
            sent.append(time.time())  # the moment the call would go out

    await asyncio.gather(*(caller() for _ in range(callers)))


async def test_two_limiters_sharing_a_store_never_exceed_the_limit_in_any_window(database_url: str) -> None:
    await upgrade(database_url)
    first, second = Store(database_url), Store(database_url)
    limit, period = 150, 1.0  # a burst of 3 when idle, and the rest on the main grid
    limiters = [RateLimiter(limit, name="capillary", period=period, margin=0.3, ledger=StoreLedger(store))
                for store in (first, second)]
    assert limiters[0].burst is not None
    sent: list[list[float]] = [[], []]
    try:
        until = time.time() + 2.6
        await asyncio.gather(*(flood(limiter, 20, until, times) for limiter, times in zip(limiters, sent,
                                                                                           strict=True)))
    finally:
        for limiter in limiters:
            await limiter.aclose()
        await first.close()
        await second.close()
    both = sent[0] + sent[1]
    assert most_in_any_window(both, period) <= limit
    assert sent[0] and sent[1], "both replicas got to send"
    assert len(both) > 2 * limit, "the calls went on window after window"


async def test_one_limiter_on_its_own_never_exceeds_the_limit_and_paces_evenly() -> None:
    limit, period = 10, 1.0
    limiter = RateLimiter(limit, period=period, margin=0.3, ledger=LocalLedger())
    sent: list[float] = []
    try:
        await flood(limiter, 30, time.time() + 2.5, sent)
    finally:
        await limiter.aclose()
    assert most_in_any_window(sent, period) <= limit
    # Evenly: never a burst of the whole allowance at once (the gaps are about period / limit).
    assert most_in_any_window(sent, period / 4) <= limit // 2


class FakeTime:
    """A clock that only the limiter's own sleeps move (the callers wait on it, never sleep themselves)."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        for _ in range(5):  # whoever is ready runs first, at the time it is now
            await asyncio.sleep(0)
        self.now += max(seconds, 0.0)


async def served_order(limiter: RateLimiter, callers: list[Claimant]) -> list[Claimant]:
    order: list[Claimant] = []

    async def call(who: Claimant) -> None:
        with claiming(who):
            await limiter.acquire()
        order.append(who)

    # The tasks start in this order, all before the limiter's own task (which the first of them starts) runs.
    await asyncio.gather(*(call(who) for who in callers))
    return order


async def test_people_go_before_the_background_and_users_take_turns() -> None:
    clock = FakeTime()
    limiter = RateLimiter(60, clock=clock, sleep=clock.sleep)
    alice, bob = Claimant(Lane.PEOPLE, "U0ALICE01"), Claimant(Lane.PEOPLE, "U0BOB0001")
    background = Claimant(Lane.BACKGROUND, "")
    order = await served_order(limiter, [background, alice, alice, alice, alice, background, bob])
    assert order == [alice, bob, alice, alice, alice, background, background]


async def test_sends_are_spaced_evenly_over_the_window() -> None:
    clock = FakeTime()
    limiter = RateLimiter(60, clock=clock, sleep=clock.sleep, burst=0)  # the main grid alone
    times: list[float] = []

    async def call() -> None:
        await limiter.acquire()
        times.append(clock())

    await asyncio.gather(*(call() for _ in range(120)))
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) > 0.9  # about 60.5 / 60 s apart, never a burst
    assert most_in_any_window(times, 60.0) <= 60


async def test_a_back_off_holds_every_caller() -> None:
    clock = FakeTime()
    limiter = RateLimiter(6000, clock=clock, sleep=clock.sleep)
    await limiter.acquire()
    limiter.back_off(30.0)
    held_from = clock()
    await limiter.acquire()
    assert clock() - held_from >= 30.0


async def test_a_few_calls_go_at_once_when_the_limit_is_idle() -> None:
    clock = FakeTime()
    limiter = RateLimiter(600, clock=clock, sleep=clock.sleep)
    started = clock()
    await asyncio.gather(*(limiter.acquire() for _ in range(5)))
    assert clock() - started < 0.2  # not five spacings (0.5 s): the burst points went early
