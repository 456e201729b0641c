"""Leases in the store (bot/store/leases.py) and the alert job's hand-off between replicas, on one database opened by
two stores (two replicas), with injected clocks: nothing sleeps. Each store-backed test runs on SQLite and on
PostgreSQL (the ``database_url`` fixture of tests/conftest.py).
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
from bot.alerts.job import LEASE_LOST, AlertJob, CycleReport, lease_ttl
from bot.alerts.watchlist import Customer
from bot.store.engine import Store
from bot.store.leases import Lease, holder_id
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


def test_holder_ids_differ_and_fit() -> None:
    assert holder_id() != holder_id() and len(holder_id()) <= 64
    assert lease_ttl(300) == timedelta(seconds=600) and lease_ttl(10) == timedelta(seconds=120)


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
        watchlist: tuple[Customer, ...] = ()) -> AlertJob:
    return AlertJob(capillary=cast(CapillaryClient, capillary), store=store, poster=poster, channel="C0ALERTS1",
                    watchlist=watchlist, statuses=("FAILED",), zone=UTC, lookback=timedelta(hours=24), clock=clock,
                    post_interval=0, concurrency=1, lease_ttl=TTL, holder=holder)


WATCHED = tuple(Customer("mobile", f"9198450{n:05d}") for n in range(10))


def candidates(count: int) -> list[Candidate]:
    return [Candidate(9_100_000_000_000 + n, "sms", f"91984500{n:04d}", "FAILED", T0 - timedelta(minutes=n),
                      "import") for n in range(count)]


async def test_a_long_poll_renews_the_lease_so_no_one_takes_it_over(stores: tuple[Store, Store],
                                                                     clock: Clock) -> None:
    poster = FakePoster()
    other = job(stores[1], clock, poster, "replica-b")
    takeovers: list[bool] = []

    async def other_tries() -> None:
        takeovers.append(await other.lease.acquire())

    capillary = SlowCapillary(clock, TTL / 2, other_tries)  # ten lookups: five times the lease's time to live
    long = job(stores[0], clock, poster, "replica-a", capillary, WATCHED)
    await long.outbox.enqueue(candidates(1), T0)
    report = await long.run_once()
    assert capillary.calls == len(WATCHED) and takeovers == [False] * len(WATCHED)
    assert report.error is None and report.posted == 1 and len(poster.posts) == 1


async def test_a_holder_that_lost_the_lease_while_polling_stops(stores: tuple[Store, Store], clock: Clock) -> None:
    poster = FakePoster()
    other = job(stores[1], clock, poster, "replica-b")

    async def other_runs() -> None:
        if capillary.calls == 1:  # the first lookup stalled past the lease's expiry: b runs meanwhile
            clock.advance(TTL)
            assert (await other.run_once()).posted == 1

    capillary = SlowCapillary(clock, timedelta(0), other_runs)
    stalled = job(stores[0], clock, poster, "replica-a", capillary, WATCHED)
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
        """Replica a has claimed the items, then stops for longer than its lease; b takes over meanwhile."""
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
