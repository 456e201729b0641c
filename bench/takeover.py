"""How long a crashed alert-lease holder holds the alerts up, with the production lease (30 s, renewed every 10 s).

Two replicas of the alert job share one database (a SQLite file by default, or ``--database-url``), each with its own
store and scheduler, the scheduled interval an hour (so only the run at start and the takeover checks happen). The
first runs, claims a queued alert and hangs in its post to Slack; the second's run at start is skipped. At a random
moment of the first one's heartbeat cycle it is killed as a crash kills it: its run cut short, its lease not released.
Prints, per run and in all, the time from the kill until the second replica held the lease and until it had posted.

    python bench/takeover.py [--runs 3] [--lease 30] [--database-url postgresql+asyncpg://…]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.alerts.domain import Candidate, Digest, DigestItem  # noqa: E402
from bot.alerts.job import AlertJob, AlertScheduler  # noqa: E402
from bot.store.engine import Store  # noqa: E402
from bot.store.schema import upgrade  # noqa: E402
from bot.vendors.capillary import CapillaryClient  # noqa: E402


class Poster:
    """Posts nothing to Slack: it notes when a digest would have gone, or hangs there (the replica to be killed)."""

    def __init__(self, *, hang: bool) -> None:
        self.hang = hang
        self.reached = asyncio.Event()
        self.posted_at: float | None = None

    async def post_digest(self, channel: str, digest: Digest) -> str:
        self.reached.set()
        if self.hang:
            await asyncio.Event().wait()
        self.posted_at = time.monotonic()
        return f"{time.time():.6f}"

    def thread_replies(self, items: Sequence[DigestItem]) -> list[tuple[DigestItem, ...]]:
        return [tuple(items)] if items else []

    async def post_reply(self, channel: str, thread_ts: str, items: Sequence[DigestItem]) -> str:
        return f"{time.time():.6f}"


def job(store: Store, poster: Poster, lease: timedelta) -> AlertJob:
    return AlertJob(capillary=cast(CapillaryClient, None), store=store, poster=poster, channel="C0ALERTS1",
                    watchlist=(), statuses=("FAILED",), zone=UTC, lookback=timedelta(hours=24), post_interval=0,
                    lease_ttl=lease)


async def one_run(url: str, lease: timedelta) -> tuple[float, float]:
    stores = Store(url), Store(url)
    try:
        hanging, waiting = Poster(hang=True), Poster(hang=False)
        first, second = job(stores[0], hanging, lease), job(stores[1], waiting, lease)
        now = datetime.now(UTC)
        message_id = 9_300_000_000_000 + random.randrange(10**12)  # new to the database, however often it runs
        await first.outbox.enqueue([Candidate(message_id, "sms", "919845000001", "FAILED", now, "import")], now)
        schedulers = AlertScheduler(first, interval=3600), AlertScheduler(second, interval=3600)
        schedulers[0].start()
        await asyncio.wait_for(hanging.reached.wait(), 30)  # it holds the lease and has claimed the alert
        schedulers[1].start()  # its run at start is skipped; it looks again when the first one's lease is due
        await asyncio.sleep(random.uniform(0, first.heartbeat_every))  # anywhere in the heartbeat's cycle

        async def never_released() -> None:
            return None

        first.lease.release = never_released  # type: ignore[method-assign]
        first.lease.expire = never_released  # type: ignore[method-assign]
        killed = time.monotonic()
        await schedulers[0].stop(grace=0)
        taken = None
        while waiting.posted_at is None:
            if taken is None and await second.lease.held():
                taken = time.monotonic()
            if time.monotonic() - killed > 3 * lease.total_seconds() + 10:
                raise SystemExit("no takeover: something is wrong")
            await asyncio.sleep(0.01)
        await schedulers[1].stop()
        return (taken or waiting.posted_at) - killed, waiting.posted_at - killed
    finally:
        for store in stores:
            await store.close()


async def bench(url: str | None, runs: int, lease: timedelta) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = url or f"sqlite+aiosqlite:///{folder}/takeover.db"
        await upgrade(url)
        print(f"database {url.split(':')[0]}, alert lease {lease.total_seconds():g} s, heartbeat every "
              f"{lease.total_seconds() / 3:.3g} s")
        results = []
        for number in range(runs):
            taken, posted = await one_run(url, lease)
            results.append((taken, posted))
            print(f"run {number + 1}: lease taken over {taken:.2f} s after the kill, alert posted {posted:.2f} s after")
    posted_times = [posted for _, posted in results]
    print(f"posted after the kill: min {min(posted_times):.2f} s, mean {statistics.mean(posted_times):.2f} s, "
          f"max {max(posted_times):.2f} s (bound: one lease time plus a margin of "
          f"{min(1.0, lease.total_seconds() / 10):g} s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lease", type=float, default=30.0, help="seconds (production: 30)")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(bench(args.database_url, args.runs, timedelta(seconds=args.lease)))


if __name__ == "__main__":
    main()
