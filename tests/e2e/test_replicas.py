"""Three replicas of the bot on one database (a SQLite file, and PostgreSQL: the real target), one Slack and one
sandbox: alerts over many cycles are posted once in all, a resend asked of all three at once (three people, three
signed requests) happens once, and a replica killed mid-run is taken over within the (short) lease time.

The alert lease is 2 s here (production: 30 s, renewed every 10 s), the interval 1 s: the same mechanism, fast.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import select

from bot.alerts.job import LEASE as ALERT_LEASE
from bot.devtools.sandbox import SEED
from bot.devtools.slack_emulator import SlackEmulator
from bot.store.engine import Store
from bot.store.tables import LeaseRow
from tests.conftest import Sandbox
from tests.e2e.alert_support import ALERTS, MISSING, RESEND, RESEND_ALL, digests
from tests.e2e.conftest import ALICE, BOB
from tests.e2e.replica_support import CAROL, LEASE, alerted, replica, replicas, until
from tests.e2e.test_alerts import EXPECTED, shown

RESEND_PATH = "/v2/communications/resend"
SEED_RESENT = 1748743190124
PEOPLE = (ALICE, BOB, CAROL)


async def test_three_replicas_post_each_alert_once_over_many_cycles(sandbox: Sandbox, tmp_path: Path,
                                                                     database_url: str) -> None:
    async with replicas(sandbox, tmp_path, database_url) as three:
        slack = three[0].bot.slack
        await until(lambda: set(alerted(slack)) >= EXPECTED, 15, "the first alerts")
        new = [sandbox.state.add_interaction("mobile", "919900000011", status=status, sent_at=sandbox.state.seeded_at)
               for status in ("FAILED", "GTW_NOT_FOUND")]
        await until(lambda: set(alerted(slack)) >= {*EXPECTED, *new}, 15, "the new alerts")
        before = sum(len(replica.runs) for replica in three)
        await until(lambda: sum(len(replica.runs) for replica in three) >= before + 6, 15, "six more runs")
    assert Counter(alerted(slack)) == Counter([*EXPECTED, *new])  # each once, in all
    assert sum(MISSING in shown(message) for message in digests(three[0].bot)) == 1
    ran = [replica for replica in three if any(not report.skipped for _, report in replica.runs)]
    assert len(ran) >= 2, "the replicas took turns"
    assert all(report.error is None for replica in three for _, report in replica.runs)


async def test_one_resend_asked_of_three_replicas_at_once_resends_once(sandbox: Sandbox, tmp_path: Path,
                                                                       database_url: str) -> None:
    async with replicas(sandbox, tmp_path, database_url, alerts=False) as three:
        # Three people, three signed requests (a request replayed to another replica would be refused as a replay).
        answers = await asyncio.gather(*(replica.bot.command("/resend", str(SEED.resend_message_id), user=person)
                                         for replica, person in zip(three, PEOPLE, strict=True)))
        assert [answer.status_code for answer in answers] == [200] * 3
        for replica in three:
            await replica.bot.settle()
        slack = three[0].bot.slack
        replies = [str(call.args.get("text")) + str(call.args.get("blocks")) for call in slack.calls("response_url")]
        assert len(await three[0].bot.vendor_calls(RESEND_PATH)) == 1
        audit = await three[0].bot.services.audit.query(actions=["resend"])
    assert sorted(entry.outcome for entry in audit) == ["duplicate", "duplicate", "ok"]
    assert sum(str(SEED_RESENT) in reply for reply in replies) >= 1 and len(replies) == 3


async def test_one_alert_button_clicked_on_three_replicas_resends_once(sandbox: Sandbox, tmp_path: Path,
                                                                       database_url: str) -> None:
    async with replicas(sandbox, tmp_path, database_url, interval=3600) as three:
        await until(lambda: len(digests(three[0].bot)) == 1, 15, "the digest")
        [digest] = digests(three[0].bot)
        target = str(SEED.resend_message_id)
        await asyncio.gather(*(replica.bot.click(digest, action_id=RESEND, value=target, channel=ALERTS, user=person)
                               for replica, person in zip(three, PEOPLE, strict=True)))
        for replica in three:
            await replica.bot.settle()
        bot = three[0].bot
        assert len(await bot.vendor_calls(RESEND_PATH)) == 1
        await asyncio.gather(*(replica.bot.click(digest, action_id=RESEND_ALL, channel=ALERTS, user=person)
                               for replica, person in zip(three, PEOPLE, strict=True)))
        for replica in three:
            await replica.bot.settle()
        resent = Counter(call["json"]["messageId"] for call in await bot.vendor_calls(RESEND_PATH))
        audit = await bot.services.audit.query(actions=["alerts.resend"])
    assert resent == Counter(EXPECTED)  # each item once, though three people clicked each button at once
    assert Counter(entry.communication_id for entry in audit if entry.outcome == "ok") == Counter(
        str(message_id) for message_id in EXPECTED)


async def test_a_replica_killed_mid_run_is_taken_over_within_the_lease_time(sandbox: Sandbox, tmp_path: Path,
                                                                           database_url: str) -> None:
    slack = SlackEmulator()
    sandbox.state.latency_ms = 5000  # the first replica's poll is slow: it is mid-run when it is killed
    settings = {"interval": 3600, "capillary_timeout_seconds": 10}  # no scheduled run but the first at start
    async with slack.serve(), replica(sandbox, tmp_path, slack, database_url, **settings) as first:
        assert first.alerts is not None
        lease = first.alerts.job.lease
        await until(lambda: first.alerts is not None and first.alerts.job.heartbeat is not None, 10, "the first run")
        async with replica(sandbox, tmp_path, slack, database_url, **settings) as second, \
                replica(sandbox, tmp_path, slack, database_url, **settings) as third:
            await until(lambda: bool(second.runs) and bool(third.runs), 10, "the others' first runs")
            assert all(report.skipped for other in (second, third) for _, report in other.runs)
            assert await lease.held()
            sandbox.state.latency_ms = 0
            killed = time.monotonic()
            await first.kill()
            taken = await until_async(lambda: taken_from(second.bot.services.store, lease.holder), 10,
                                      "the takeover")
            posted = await until(lambda: set(alerted(slack)) >= EXPECTED, 10, "the alerts")
            await asyncio.sleep(0.2)
            assert Counter(alerted(slack)) == Counter(EXPECTED)  # posted once, by the one that took over
            took_over = [other for other in (second, third)
                         if any(takeover and not report.skipped for takeover, report in other.runs)]
    print(f"\ntakeover ({database_url.split(':')[0]}, lease {LEASE.total_seconds():g} s): the lease changed hands "
          f"{taken - killed:.2f} s after the kill; the alerts were in Slack {posted - killed:.2f} s after it")
    assert len(took_over) == 1
    assert taken - killed < LEASE.total_seconds() + 1.0
    assert posted - killed < LEASE.total_seconds() + 3.0


async def taken_from(store: Store, holder: str) -> bool:
    """The alert lease has a holder, and not ``holder``."""
    async with store.session() as session:
        current = await session.scalar(select(LeaseRow.holder).where(LeaseRow.name == ALERT_LEASE))
    return current is not None and current != holder


async def until_async(condition: Callable[[], Awaitable[bool]], timeout: float, what: str) -> float:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.01)
    return time.monotonic()
