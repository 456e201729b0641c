"""The alert job's posting, without Slack: a poster that records posts or fails them, over a SQLite store.

What is posted is recorded as posted, with the post it is shown in; what a refused or failed post would have shown
stays queued and opens the next run's digest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from bot.alerts.domain import Candidate
from bot.alerts.job import AlertJob
from bot.alerts.posting import PostRefused
from bot.store.engine import Store
from bot.vendors.capillary import CapillaryClient
from tests.bot.alerts.fake_poster import FakePoster

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
CHANNEL = "C0ALERTS1"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/alerts.db")
    await store.start()
    yield store
    await store.close()


def alert_job(store: Store, poster: FakePoster, on_posted: Callable[[], object] | None = None) -> AlertJob:
    """A job with an empty watch-list: it posts what is queued in the outbox."""
    return AlertJob(capillary=cast(CapillaryClient, None), store=store, poster=poster, channel=CHANNEL, watchlist=(),
                    statuses=("FAILED",), zone=UTC, lookback=timedelta(hours=24), clock=lambda: T0, post_interval=0,
                    on_posted=on_posted)


def candidates(count: int) -> list[Candidate]:
    """Newest first: candidate n was sent n minutes before T0."""
    return [Candidate(9_100_000_000_000 + n, "sms", f"91984500{n:04d}", "FAILED", T0 - timedelta(minutes=n),
                      "import") for n in range(count)]


def ids(count: int, start: int = 0) -> tuple[int, ...]:
    return tuple(candidate.message_id for candidate in candidates(start + count)[start:])


async def test_posts_are_recorded_with_the_post_that_shows_each_item(store: Store) -> None:
    poster = FakePoster(per_reply=10)
    job = alert_job(store, poster)
    await job.outbox.enqueue(candidates(35), T0)
    report = await job.run_once()
    assert report.error is None and (report.posted, report.posts) == (35, 3)
    digest, first, second = poster.posts
    assert digest.channel == CHANNEL and digest.thread_ts is None and digest.message_ids == ids(20)
    assert first.thread_ts == second.thread_ts == digest.ts
    assert (first.message_ids, second.message_ids) == (ids(10, 20), ids(5, 30))
    rows = await job.outbox.items(ids(35))
    assert {row.state for row in rows.values()} == {"posted"}
    assert {(row.slack_channel, row.slack_ts, row.in_thread) for row in rows.values()} == {
        (CHANNEL, digest.ts, False), (CHANNEL, first.ts, True), (CHANNEL, second.ts, True)}
    assert rows[ids(1, 25)[0]].slack_ts == first.ts
    assert await job.outbox.pending() == ()
    assert (await job.run_once()).posts == 0  # nothing is alerted twice


async def test_a_refused_digest_leaves_every_item_queued_for_the_next_run(store: Store) -> None:
    poster = FakePoster()
    poster.fail(1, PostRefused("channel_not_found"))
    job = alert_job(store, poster)
    await job.outbox.enqueue(candidates(3), T0)
    report = await job.run_once()
    assert report.error == "Slack answered channel_not_found" and (report.posted, report.posts) == (0, 0)
    assert "posting stopped: Slack answered channel_not_found" in report.summary()
    assert poster.posts == [] and len(await job.outbox.pending()) == 3
    report = await job.run_once()
    assert report.error is None and report.posted == 3
    [digest] = poster.posts
    assert digest.message_ids == ids(3) and await job.outbox.pending() == ()


async def test_a_refusal_without_a_code_and_a_network_failure_say_so(store: Store) -> None:
    poster = FakePoster()
    poster.fail(1, PostRefused())
    poster.fail(2, ConnectionResetError("reset by peer"))
    job = alert_job(store, poster)
    await job.outbox.enqueue(candidates(1), T0)
    assert (await job.run_once()).error == "Slack answered an error"
    assert (await job.run_once()).error == "ConnectionResetError while posting to Slack"
    assert len(await job.outbox.pending()) == 1
    assert (await job.run_once()).posted == 1


async def test_a_failed_thread_reply_keeps_its_items_and_the_later_ones_queued(store: Store) -> None:
    poster = FakePoster(per_reply=10)
    poster.fail(3, PostRefused("ratelimited"))  # the digest and the first reply go through
    job = alert_job(store, poster)
    await job.outbox.enqueue(candidates(45), T0)
    report = await job.run_once()
    assert report.error == "Slack answered ratelimited" and (report.posted, report.posts) == (30, 2)
    assert {item.message_id for item in await job.outbox.pending()} == set(ids(15, 30))
    report = await job.run_once()
    assert report.error is None and report.posted == 15
    assert poster.posts[-1].thread_ts is None and poster.posts[-1].message_ids == ids(15, 30)  # a new digest


async def test_a_failed_post_never_costs_the_display_hook_or_the_lease(store: Store) -> None:
    drawn: list[int] = []
    poster = FakePoster()
    poster.fail(1, PostRefused("internal_error"))
    job = alert_job(store, poster, on_posted=lambda: drawn.append(len(poster.posts)))
    await job.outbox.enqueue(candidates(2), T0)
    await job.run_once()
    assert drawn == [] and not await job.lease.held()  # released even though posting stopped
    await job.run_once()
    assert drawn == [1]
