"""The alert scheduler's takeover, in real time but with a lease of one second: a crashed holder (or a restarted bot's
own previous incarnation) holds the alerts up for one lease time, not until the next scheduled run, and a holder that
finished normally is not followed by a second run. Two replicas' stores on one database, SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import text

from bot.alerts.domain import Candidate, Digest
from bot.alerts.job import LEASE, AlertJob, AlertScheduler, CycleReport
from bot.store.engine import Store
from bot.store.leases import Lease, holder_id
from bot.store.schema import upgrade
from bot.vendors.capillary import CapillaryClient
from tests.bot.alerts.fake_poster import FakePoster

TTL = timedelta(seconds=1)
HEARTBEAT = 0.25
NEVER = 3600  # the scheduled interval: only the run at start and the takeover checks happen within a test


@pytest.fixture
async def stores(database_url: str) -> AsyncIterator[tuple[Store, Store]]:
    await upgrade(database_url)
    first, second = Store(database_url), Store(database_url)
    for store in (first, second):
        async with store.session() as session:
            await session.execute(text("SELECT 1"))
    yield first, second
    await first.close()
    await second.close()


class HangingPoster(FakePoster):
    """Never gets a digest to Slack: the run that holds the lease is stuck mid-run until it is killed."""

    def __init__(self) -> None:
        super().__init__()
        self.called = asyncio.Event()

    async def post_digest(self, channel: str, digest: Digest) -> str:
        self.called.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class Recorder:
    """What each of a job's runs did, and when the first that was not skipped ended."""

    def __init__(self, job: AlertJob) -> None:
        self.reports: list[tuple[bool, CycleReport]] = []  # (a takeover check?, what it did)
        self.ran = asyncio.Event()
        self.ran_at = 0.0
        run = job.run_once

        async def run_once(*, takeover: bool = False) -> CycleReport:
            report = await run(takeover=takeover)
            self.reports.append((takeover, report))
            if not report.skipped and not self.ran.is_set():
                self.ran_at = time.monotonic()
                self.ran.set()
            return report

        job.run_once = run_once  # type: ignore[method-assign]

    async def run_ended(self, timeout: float = 10.0) -> float:
        """The monotonic time the first run that was not skipped ended (its posts recorded in the store)."""
        await asyncio.wait_for(self.ran.wait(), timeout)
        return self.ran_at


def job(store: Store, poster: FakePoster) -> AlertJob:
    return AlertJob(capillary=cast(CapillaryClient, None), store=store, poster=poster, channel="C0ALERTS1",
                    watchlist=(), statuses=("FAILED",), zone=UTC, lookback=timedelta(hours=24), post_interval=0,
                    lease_ttl=TTL, heartbeat=HEARTBEAT)


async def queue(alerts: AlertJob, count: int) -> list[int]:
    now = datetime.now(UTC)
    candidates = [Candidate(9_200_000_000_000 + n, "sms", f"91984500{n:04d}", "FAILED", now - timedelta(minutes=n),
                            "import") for n in range(count)]
    await alerts.outbox.enqueue(candidates, now)
    return [candidate.message_id for candidate in candidates]


async def test_a_restarted_bot_waits_for_its_dead_incarnation_one_lease_time(stores: tuple[Store, Store]) -> None:
    # The previous incarnation crashed mid-run, leaving its lease behind (it renewed it an instant ago).
    dead = Lease(stores[0], LEASE, holder_id(), TTL)
    assert await dead.acquire()
    dead_until = await dead.expiry()
    poster = FakePoster()
    restarted = job(stores[1], poster)
    ids = await queue(restarted, 3)
    recorder = Recorder(restarted)
    started = time.monotonic()
    scheduler = AlertScheduler(restarted, interval=NEVER)
    scheduler.start()
    try:
        posted = await recorder.run_ended()
    finally:
        await scheduler.stop()
    assert dead_until is not None and datetime.now(UTC) >= dead_until  # it did wait for the dead one's lease …
    assert posted - started < TTL.total_seconds() + 1.0  # … and no longer than that, not the hour to its next run
    assert [(takeover, report.skipped) for takeover, report in recorder.reports] == [(False, True), (True, False)]
    assert [post.message_ids for post in poster.posts] == [tuple(ids)]


async def test_a_crashed_holder_is_taken_over_within_the_lease_time(stores: tuple[Store, Store]) -> None:
    hanging, poster = HangingPoster(), FakePoster()
    crashing, survivor = job(stores[0], hanging), job(stores[1], poster)
    ids = await queue(crashing, 3)
    first = AlertScheduler(crashing, interval=NEVER)
    first.start()
    await asyncio.wait_for(hanging.called.wait(), 10)  # it holds the lease and has claimed the items
    recorder = Recorder(survivor)
    second = AlertScheduler(survivor, interval=NEVER)
    second.start()
    try:
        await asyncio.sleep(3 * HEARTBEAT)  # the heartbeat keeps the lease meanwhile: the survivor waits
        assert poster.posts == [] and await crashing.lease.held()

        async def never_released() -> None:  # a crashed process releases nothing
            return None

        crashing.lease.release = never_released  # type: ignore[method-assign]
        crashing.lease.expire = never_released  # type: ignore[method-assign]
        killed = time.monotonic()
        await first.stop(grace=0)  # its run is cancelled: the heartbeat stops with it
        posted = await recorder.run_ended()
    finally:
        await first.stop()
        await second.stop()
    assert posted - killed < TTL.total_seconds() + 1.0
    assert [post.message_ids for post in poster.posts] == [tuple(ids)] and hanging.posts == []
    rows = await survivor.outbox.items(ids)
    assert {(row.state, row.claimed_by) for row in rows.values()} == {("posted", survivor.lease.holder)}


async def test_a_run_that_ended_normally_is_not_run_again_by_the_waiting_replica(
        stores: tuple[Store, Store]) -> None:
    slow, other = FakePoster(), FakePoster()
    holder, waiting = job(stores[0], slow), job(stores[1], other)
    await queue(holder, 1)
    release = asyncio.Event()
    post_digest = slow.post_digest

    async def slow_post(channel: str, digest: Digest) -> str:
        await release.wait()
        return await post_digest(channel, digest)

    slow.post_digest = slow_post  # type: ignore[method-assign]
    recorder, holding = Recorder(waiting), Recorder(holder)
    schedulers = [AlertScheduler(holder, interval=NEVER), AlertScheduler(waiting, interval=NEVER)]
    schedulers[0].start()
    try:
        for _ in range(1000):
            if await holder.lease.held():
                break
            await asyncio.sleep(0.01)
        schedulers[1].start()  # skipped: the holder's run is under way
        await asyncio.sleep(1.5 * TTL.total_seconds())  # the waiting replica checks, finds the lease renewed
        release.set()
        await holding.run_ended()
        await asyncio.sleep(1.5 * TTL.total_seconds())  # its next check finds the lease released: nothing to do
    finally:
        for scheduler in schedulers:
            await scheduler.stop()
    assert len(slow.posts) == 1 and other.posts == []
    assert all(report.skipped for _, report in recorder.reports)
    checks = [report for takeover, report in recorder.reports if takeover]
    assert len(checks) >= 2 and checks[-1].held_until is None  # the last check found no holder, and stopped


async def test_a_run_stopped_at_shutdown_is_left_to_a_takeover(stores: tuple[Store, Store]) -> None:
    """A replica stopped (SIGTERM) in the middle of a run leaves its lease expired, not released: a replica waiting
    for it takes the run over at its next look, as after a crash."""
    hanging, poster = HangingPoster(), FakePoster()
    stopping, waiting = job(stores[0], hanging), job(stores[1], poster)
    ids = await queue(stopping, 2)
    run = asyncio.create_task(stopping.run_once())
    await asyncio.wait_for(hanging.called.wait(), 10)
    run.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await run
    assert not await stopping.lease.held()
    report = await waiting.run_once(takeover=True)
    assert report.posted == 2 and [post.message_ids for post in poster.posts] == [tuple(ids)]


async def test_a_run_that_failed_is_left_to_the_next_scheduled_run(stores: tuple[Store, Store]) -> None:
    failing, waiting = job(stores[0], FakePoster()), job(stores[1], FakePoster())
    await queue(failing, 1)

    async def broken() -> tuple[str, ...]:
        raise OSError("the database went away")

    failing.outbox.missing_unreported = broken  # type: ignore[method-assign]
    with pytest.raises(OSError):
        await failing.run_once()
    report = await waiting.run_once(takeover=True)  # released: nothing for a takeover …
    assert report.skipped and report.held_until is None
    assert (await waiting.run_once()).posted == 1  # … the next scheduled run posts it
