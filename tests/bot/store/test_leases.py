"""Leases in the store (bot/store/leases.py), their heartbeat, and the alert job's hand-off between replicas, on one
database opened by two stores (two replicas), with injected clocks: nothing waits for a lease to expire (a heartbeat
beats every millisecond where a test needs it to). Each store-backed test runs on SQLite and on PostgreSQL (the
``database_url`` fixture of tests/conftest.py). The scheduler's takeover, in real time, is in
tests/bot/alerts/test_takeover.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import text

from bot.alerts.domain import Candidate, Digest
from bot.alerts.job import LEASE_LOST, LEASE_TTL, AlertJob, CycleReport
from bot.alerts.watchlist import Customer
from bot.store.engine import Store
from bot.store.leases import Heartbeat, Lease, holder_id
from bot.store.schema import upgrade
from bot.vendors.capillary import CapillaryClient
from bot.vendors.capillary.models import ChannelMessage
from tests.bot.alerts.fake_poster import FakePoster

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
TTL = timedelta(minutes=2)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def stores(database_url: str) -> AsyncIterator[tuple[Store, Store]]:
    """Two replicas' stores on one database, made by the migrations, each connected (as a replica is once started)."""
    await upgrade(database_url)
    first, second = Store(database_url), Store(database_url)
    for store in (first, second):
        async with store.session() as session:
            await session.execute(text("SELECT 1"))
    yield first, second
    await first.close()
    await second.close()


def leases(stores: tuple[Store, Store], clock: Clock, name: str = "job") -> tuple[Lease, Lease]:
    return Lease(stores[0], name, "replica-a", TTL, clock), Lease(stores[1], name, "replica-b", TTL, clock)


async def test_only_one_of_two_acquires(stores: tuple[Store, Store], clock: Clock) -> None:
    a, b = leases(stores, clock)
    assert await a.acquire()
    assert not await b.acquire()
    assert await a.held() and not await b.held()
    assert await a.acquire()  # already ours: taken again, and extended


async def test_the_other_acquires_after_expiry(stores: tuple[Store, Store], clock: Clock) -> None:
    a, b = leases(stores, clock)
    assert await a.acquire()
    clock.advance(TTL - timedelta(seconds=1))
    assert not await b.acquire()
    clock.advance(timedelta(seconds=1))
    assert not await a.held()
    assert await b.acquire() and await b.held()
    assert not await a.acquire()  # and it is b's now, unexpired
    assert not await a.renew()  # a stalled holder learns it lost the lease


async def test_renew_extends(stores: tuple[Store, Store], clock: Clock) -> None:
    a, b = leases(stores, clock)
    assert await a.acquire()
    clock.advance(TTL - timedelta(seconds=1))
    assert await a.renew()
    clock.advance(TTL - timedelta(seconds=1))  # past the first expiry, within the renewed one
    assert await a.held() and not await b.acquire()
    assert not await b.renew()  # renewing is for the holder only


async def test_release_lets_the_other_in(stores: tuple[Store, Store], clock: Clock) -> None:
    a, b = leases(stores, clock)
    assert await a.acquire()
    await b.release()  # not b's to release: nothing happens
    assert not await b.acquire()
    await a.release()
    assert not await a.held()
    assert await b.acquire()
    assert not await a.renew()  # released, then taken: a cannot get it back by renewing


async def test_leases_of_different_names_are_independent(stores: tuple[Store, Store], clock: Clock) -> None:
    a, _ = leases(stores, clock, "one")
    _, b = leases(stores, clock, "two")
    assert await a.acquire() and await b.acquire()


async def test_take_over_takes_only_a_lease_left_to_expire(stores: tuple[Store, Store], clock: Clock) -> None:
    a, b = leases(stores, clock)
    assert not await b.take_over()  # no one ever held it: nothing to take over
    assert await a.acquire()
    assert not await b.take_over()  # held
    await a.release()
    assert not await b.take_over()  # released: its holder finished
    assert await a.acquire()
    clock.advance(TTL)
    assert await b.take_over() and await b.held()  # a let it expire: it died or stalled
    assert not await a.renew() and not await a.take_over()


async def test_expire_gives_the_lease_up_for_a_takeover(stores: tuple[Store, Store], clock: Clock) -> None:
    a, b = leases(stores, clock)
    assert await a.acquire()
    await b.expire()  # not b's: nothing happens
    assert await a.held()
    await a.expire()  # a stops midway: its work is unfinished
    assert not await a.held() and await b.take_over()


async def test_expiry_says_until_when_whoever_holds_it(stores: tuple[Store, Store], clock: Clock) -> None:
    a, b = leases(stores, clock)
    assert await b.expiry() is None
    assert await a.acquire()
    assert await b.expiry() == T0 + TTL
    clock.advance(timedelta(seconds=10))
    assert await a.renew() and await b.expiry() == T0 + TTL + timedelta(seconds=10)
    await a.release()
    assert await b.expiry() is None


def test_holder_ids_differ_and_fit() -> None:
    """Unique per call, so per process start: a restarted bot never passes for its previous incarnation."""
    assert holder_id() != holder_id() and len(holder_id()) <= 64
    job = AlertJob(capillary=cast(CapillaryClient, None), store=cast(Store, None), poster=FakePoster(),
                   channel="C0ALERTS1", watchlist=(), statuses=("FAILED",), zone=UTC, lookback=timedelta(hours=1))
    assert job.lease.ttl == LEASE_TTL == timedelta(seconds=30) and job.heartbeat_every == 10


# The heartbeat ---------------------------------------------------------------------------------------------------


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.001)):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the condition did not come true in time")


async def test_a_heartbeat_keeps_the_lease_while_the_work_lasts(stores: tuple[Store, Store], clock: Clock) -> None:
    a, b = leases(stores, clock)
    assert await a.acquire()
    async with Heartbeat(a, every=0.001) as heartbeat:
        for _ in range(3):  # three lease times go by, each renewed before it ended
            clock.advance(TTL - timedelta(seconds=1))
            await until(lambda beats=heartbeat.beats: heartbeat.beats > beats + 1)  # one began after the clock moved
            assert not await b.acquire() and not await b.take_over()
    assert heartbeat.held
    beats = heartbeat.beats
    await asyncio.sleep(0.01)
    assert heartbeat.beats == beats  # it stopped with the work
    clock.advance(TTL)
    assert await b.take_over()  # and the lease ran out: had a crashed, b would have taken over after one TTL


async def test_a_heartbeat_notices_a_takeover_and_stops(stores: tuple[Store, Store], clock: Clock) -> None:
    a, b = leases(stores, clock)
    assert await a.acquire()
    clock.advance(TTL)  # a stalled (its event loop blocked: no beat) past its lease, and b took over
    assert await b.acquire()
    async with Heartbeat(a, every=0.001) as heartbeat:
        await until(lambda: not heartbeat.held)
    assert heartbeat.beats == 0 and await b.held()


async def test_a_heartbeat_tries_again_after_a_failed_renewal(stores: tuple[Store, Store], clock: Clock) -> None:
    a, _ = leases(stores, clock)
    assert await a.acquire()
    real, failures = a.renew, [OSError("the database did not answer")]

    async def flaky() -> bool:
        if failures:
            raise failures.pop()
        return await real()

    a.renew = flaky  # type: ignore[method-assign]
    async with Heartbeat(a, every=0.001) as heartbeat:
        await until(lambda: heartbeat.beats > 0)
    assert heartbeat.held and not failures


# The alert job's hand-off -----------------------------------------------------------------------------------------


class SlowCapillary:
    """Each lookup takes ``step`` on the clock and then lets ``meanwhile`` (the other replica) act."""

    def __init__(self, clock: Clock, step: timedelta, meanwhile: Callable[[], Awaitable[Any]]) -> None:
        self.clock, self.step, self.meanwhile, self.calls = clock, step, meanwhile, 0

    async def customer_messages(self, name: str, value: str, *, keep: Callable[[str], bool]) -> list[ChannelMessage]:
        self.calls += 1
        self.clock.advance(self.step)
        await self.meanwhile()
        return []


def job(store: Store, clock: Clock, poster: FakePoster, holder: str, capillary: object = None,
        watchlist: tuple[Customer, ...] = (), heartbeat: float | None = None) -> AlertJob:
    """By default its heartbeat beats every 40 s of real time, so never in a test: as if its event loop were blocked
    whenever the test moves the clock on."""
    return AlertJob(capillary=cast(CapillaryClient, capillary), store=store, poster=poster, channel="C0ALERTS1",
                    watchlist=watchlist, statuses=("FAILED",), zone=UTC, lookback=timedelta(hours=24), clock=clock,
                    post_interval=0, concurrency=1, lease_ttl=TTL, heartbeat=heartbeat, holder=holder)


WATCHED = tuple(Customer("mobile", f"9198450{n:05d}") for n in range(10))


def candidates(count: int) -> list[Candidate]:
    return [Candidate(9_100_000_000_000 + n, "sms", f"91984500{n:04d}", "FAILED", T0 - timedelta(minutes=n),
                      "import") for n in range(count)]


async def test_the_heartbeat_keeps_the_lease_through_a_long_poll(stores: tuple[Store, Store],
                                                                  clock: Clock) -> None:
    poster = FakePoster()
    other = job(stores[1], clock, poster, "replica-b")
    takeovers: list[bool] = []

    async def other_tries() -> None:
        heartbeat = long.heartbeat
        assert heartbeat is not None
        beats = heartbeat.beats
        await until(lambda: heartbeat.beats > beats + 1)  # renewed since the clock moved on
        takeovers.append(await other.lease.acquire() or await other.lease.take_over())

    capillary = SlowCapillary(clock, TTL / 2, other_tries)  # ten lookups: five times the lease's time to live
    long = job(stores[0], clock, poster, "replica-a", capillary, WATCHED, heartbeat=0.001)
    await long.outbox.enqueue(candidates(1), T0)
    report = await long.run_once()
    assert capillary.calls == len(WATCHED) and takeovers == [False] * len(WATCHED)
    assert report.error is None and report.posted == 1 and len(poster.posts) == 1


async def test_a_holder_that_lost_the_lease_while_polling_stops(stores: tuple[Store, Store], clock: Clock) -> None:
    poster = FakePoster()
    other = job(stores[1], clock, poster, "replica-b")

    async def other_runs() -> None:
        if capillary.calls == 1:  # the first lookup stalled past the lease's expiry: b runs meanwhile
            stall, renew = asyncio.Event(), stalled.lease.renew

            async def stalled_renew() -> bool:
                await stall.wait()
                return await renew()

            stalled.lease.renew = stalled_renew  # type: ignore[method-assign]  # a's heartbeat hangs meanwhile
            clock.advance(TTL)
            assert (await other.run_once(takeover=True)).posted == 1
            stall.set()
            heartbeat = stalled.heartbeat
            assert heartbeat is not None
            await until(lambda: not heartbeat.held)  # a's next beat finds the lease gone

    capillary = SlowCapillary(clock, timedelta(0), other_runs)
    stalled = job(stores[0], clock, poster, "replica-a", capillary, WATCHED, heartbeat=0.001)
    await stalled.outbox.enqueue(candidates(1), T0)
    report = await stalled.run_once()
    assert capillary.calls == 1  # it noticed at its next renewal and polled no further
    assert report.error == LEASE_LOST and report.posts == 0 and len(poster.posts) == 1


async def test_a_stalled_holder_posts_nothing_after_a_takeover(stores: tuple[Store, Store], clock: Clock) -> None:
    poster = FakePoster()
    stalled, successor = job(stores[0], clock, poster, "replica-a"), job(stores[1], clock, poster, "replica-b")
    await stalled.outbox.enqueue(candidates(30), T0)
    real = stalled.outbox.missing_unreported
    took_over: list[Any] = []

    async def stall() -> tuple[str, ...]:
        """Replica a has claimed the items, then stops for longer than its lease, its heartbeat not running (its
        event loop blocked); b takes over meanwhile. Only the check right before the post stops a."""
        clock.advance(TTL + timedelta(seconds=1))
        took_over.append(await successor.run_once())
        return await real()

    stalled.outbox.missing_unreported = stall  # type: ignore[method-assign]
    report = await stalled.run_once()
    assert report.error == LEASE_LOST and report.posts == 0 and not report.skipped
    [theirs] = took_over
    assert theirs.posted == 30 and theirs.error is None
    assert len(poster.posts) == 2  # b's digest and its one thread reply, and nothing from a
    rows = await stalled.outbox.items([candidate.message_id for candidate in candidates(30)])
    assert {(row.state, row.claimed_by) for row in rows.values()} == {("posted", "replica-b")}
    assert len({row.digest_id for row in rows.values()}) == 1
    assert not await stalled.lease.held() and not await successor.lease.held()  # b released it; a had nothing


async def test_a_holder_that_lost_the_lease_claims_and_records_nothing(stores: tuple[Store, Store],
                                                                       clock: Clock) -> None:
    poster = FakePoster()
    a, b = job(stores[0], clock, poster, "replica-a"), job(stores[1], clock, poster, "replica-b")
    await a.outbox.enqueue(candidates(3), T0)
    assert await a.lease.acquire()
    assert len(await a.outbox.claim(a.lease)) == 3
    clock.advance(TTL)
    assert await b.lease.acquire()
    assert await a.outbox.claim(a.lease) == ()  # not held: claims nothing
    assert len(await b.outbox.claim(b.lease)) == 3  # the successor claims them over again
    ids = [candidate.message_id for candidate in candidates(3)]
    await a.outbox.mark_posted(ids, digest_id="a", channel="C0ALERTS1", ts="1.1", in_thread=False, now=T0,
                               holder="replica-a")
    assert {row.state for row in (await a.outbox.items(ids)).values()} == {"pending"}  # not a's to record
    assert not await a.lease.renew()


class PatientPoster(FakePoster):
    """Posts a digest only once the other job's run is over (or 5 s have passed): the two runs overlap for sure,
    however fast the database answers, instead of one run ending before the other begins."""

    def __init__(self) -> None:
        super().__init__()
        self.other_done = asyncio.Event()

    async def post_digest(self, channel: str, digest: Digest) -> str:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.other_done.wait(), 5)
        return await super().post_digest(channel, digest)


async def test_two_jobs_at_once_post_one_digest(stores: tuple[Store, Store], clock: Clock) -> None:
    poster = PatientPoster()
    a, b = job(stores[0], clock, poster, "replica-a"), job(stores[1], clock, poster, "replica-b")
    await a.outbox.enqueue(candidates(5), T0)

    async def run(alerts: AlertJob) -> CycleReport:
        report = await alerts.run_once()
        if report.skipped:
            poster.other_done.set()
        return report

    reports = await asyncio.gather(run(a), run(b))
    assert sorted(report.skipped for report in reports) == [False, True]
    assert len(poster.posts) == 1 and sum(report.posted for report in reports) == 5
    assert "skipped" in next(report for report in reports if report.skipped).summary()


async def test_a_store_from_before_claims_gets_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:  # alert_outbox as the first version of the alerts created it
        connection.execute(
            "CREATE TABLE alert_outbox (message_id BIGINT NOT NULL PRIMARY KEY, channel VARCHAR(32) NOT NULL, "
            "receiver VARCHAR(320) NOT NULL, status VARCHAR(32) NOT NULL, sent_at DATETIME NOT NULL, "
            "source VARCHAR(16) NOT NULL, customer VARCHAR(330), state VARCHAR(16) NOT NULL, "
            "found_at DATETIME NOT NULL, digest_id VARCHAR(32), slack_channel VARCHAR(32), slack_ts VARCHAR(32), "
            "in_thread BOOLEAN NOT NULL, posted_at DATETIME, resent_by VARCHAR(32), resent_at DATETIME, "
            "resent_id BIGINT, resend_error TEXT)")
    store = Store(f"sqlite+aiosqlite:///{path}")
    try:
        assert (await upgrade(store)).changed  # the baseline adopts it and adds the column
        assert not (await upgrade(store)).changed  # and upgrading again changes nothing
        alerts = job(store, Clock(), FakePoster(), "replica-a")
        await alerts.outbox.enqueue(candidates(2), T0)
        assert (await alerts.run_once()).posted == 2
    finally:
        await store.close()
