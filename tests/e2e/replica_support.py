"""Three replicas of the bot, in process: each its own Services (store, vendor clients), AsyncApp, HTTP server and
alert scheduler, all on one database, one Slack (the emulator) and one sandbox, as three pods behind one Slack app."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.alerts.job import AlertScheduler, CycleReport
from bot.app import start_alerts
from bot.devtools.slack_emulator import SlackEmulator
from tests.conftest import Sandbox
from tests.e2e.alert_support import ALERTS, item_ids, write_watchlist
from tests.e2e.conftest import Bot, running_bot

LEASE = timedelta(seconds=2)  # the alert lease; production's is 30 s, the same mechanism
HEARTBEAT = 0.5
CAROL = ("U0CAROL01", "carol")
POLICY = """
[[grant]]
actions = ["*"]
users = ["U0ALICE01", "U0BOB0001", "U0CAROL01"]
"""


@dataclass
class Replica:
    bot: Bot
    alerts: AlertScheduler | None
    runs: list[tuple[bool, CycleReport]] = field(default_factory=list)  # (a takeover check?, what it did)

    def record_runs(self) -> None:
        """Record every run of this replica's alert job from now on (the scheduler looks the method up each run)."""
        assert self.alerts is not None
        job = self.alerts.job
        run = job.run_once

        async def run_once(*, takeover: bool = False) -> CycleReport:
            report = await run(takeover=takeover)
            self.runs.append((takeover, report))
            return report

        job.run_once = run_once  # type: ignore[method-assign]

    async def kill(self) -> None:
        """Stop its alert job the way a crash does: the run in progress is cut short and the lease is not released
        (the heartbeat stops with the run, so the lease runs out one lease time after its last renewal)."""
        assert self.alerts is not None

        async def never_released() -> None:
            return None

        self.alerts.job.lease.release = never_released  # type: ignore[method-assign]
        self.alerts.job.lease.expire = never_released  # type: ignore[method-assign]
        await self.alerts.stop(grace=0)


@contextlib.asynccontextmanager
async def replica(sandbox: Sandbox, tmp_path: Path, slack: SlackEmulator, database_url: str, *,
                  alerts: bool = True, interval: int = 1, **settings: Any) -> AsyncIterator[Replica]:
    policy = tmp_path / "replicas-policy.toml"
    policy.write_text(POLICY)
    values: dict[str, Any] = {
        "database_url": database_url, "access_policy": policy, "capillary_rate_limit_per_minute": 100_000,
        "alert_interval_seconds": interval, **settings}
    if alerts:
        values.update(alert_channel=ALERTS, alert_watchlist=write_watchlist(tmp_path))
    async with running_bot(sandbox, tmp_path, slack=slack, **values) as bot:
        assert bot.app is not None
        scheduler = start_alerts(bot.services, bot.app.client, lease_ttl=LEASE, heartbeat=HEARTBEAT, post_interval=0)
        running = Replica(bot, scheduler)
        if scheduler is not None:
            running.record_runs()  # before its first run, which starts once this coroutine waits
        try:
            yield running
        finally:
            if scheduler is not None:
                await scheduler.stop()
            await bot.services.background.drain(10)


@contextlib.asynccontextmanager
async def replicas(sandbox: Sandbox, tmp_path: Path, database_url: str, count: int = 3,
                   **settings: Any) -> AsyncIterator[list[Replica]]:
    slack = SlackEmulator()
    async with slack.serve(), contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(replica(sandbox, tmp_path, slack, database_url, **settings))
               for _ in range(count)]


def alerted(slack: SlackEmulator) -> list[int]:
    """Every message id shown in the alert channel (digests and their thread replies), as often as shown."""
    return [message_id for message in slack.messages(ALERTS) for message_id in item_ids(message)]


async def until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Wait for ``condition``; the monotonic time it came true."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.01)
    return time.monotonic()
