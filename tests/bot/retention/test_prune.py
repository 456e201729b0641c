"""Retention (bot/retention/prune.py) on SQLite and PostgreSQL, with an injected clock: what is pruned and what is
kept, in small batches, by one replica at a time, and safely when two prune at once; the audit log never."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.actor import Actor
from bot.audit.log import AuditLog, AuditOutcome
from bot.retention.prune import CLAIMS_FLOOR, LEASES_KEEP, TABLES, PruneReport, Retention
from bot.settings import Settings
from bot.store.base import Base
from bot.store.engine import Store
from bot.store.inserts import insert
from bot.store.schema import upgrade
from bot.store.tables import AlertItem, AuditRecord, LeaseRow, ResendClaim, SeenRequest
from tests.bot.test_cli import commops, environment

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
LOOKBACK = timedelta(hours=24)
ALICE = Actor("U0ALICE01", "alice", "T0001", "C0OPS0001")


def clock() -> datetime:
    return T0


@pytest.fixture
async def stores(database_url: str) -> AsyncIterator[tuple[Store, Store]]:
    """Two replicas' stores on one database."""
    await upgrade(database_url)
    first, second = Store(database_url), Store(database_url)
    yield first, second
    await first.close()
    await second.close()


def retention(store: Store, **kwargs: Any) -> Retention:
    return Retention(store, **{"days": 30, "lookback": LOOKBACK, "clock": clock, "pause": 0, **kwargs})


def alert(message_id: int, *, sent: timedelta, posted: timedelta | None) -> dict[str, Any]:
    """An outbox row sent ``sent`` before T0, posted ``posted`` before T0 (None: still pending)."""
    return {"message_id": message_id, "channel": "sms", "receiver": "919845000001", "status": "FAILED",
            "sent_at": T0 - sent, "source": "watchlist", "state": "pending" if posted is None else "posted",
            "found_at": T0 - sent, "in_thread": False, "posted_at": None if posted is None else T0 - posted}


def claim(message_id: int, age: timedelta) -> dict[str, Any]:
    return {"message_id": message_id, "state": "resent", "user_id": "U0ALICE01", "user_name": "alice",
            "claimed_at": T0 - age, "attempts": 1}


async def add(store: Store, table: type[Base], *rows: dict[str, Any]) -> None:
    async with store.session() as session, session.begin():
        await session.execute(insert(store, table).values(list(rows)))


async def keys(store: Store, column: Any) -> set[Any]:
    async with store.session() as session:
        return set((await session.scalars(select(column))).all())


async def count(store: Store, table: type[Base]) -> int:
    async with store.session() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_what_is_past_its_retention_goes_and_the_rest_stays(stores: tuple[Store, Store]) -> None:
    store = stores[0]
    await add(store, AlertItem,
              alert(1, sent=31 * DAY, posted=31 * DAY),  # posted long ago: goes
              alert(2, sent=31 * DAY, posted=29 * DAY),  # posted within RETENTION_DAYS: stays
              alert(3, sent=40 * DAY, posted=None),  # never posted: stays however old
              alert(4, sent=LOOKBACK + timedelta(hours=12), posted=31 * DAY))  # the poll could find it again: stays
    await add(store, ResendClaim, claim(11, 31 * DAY), claim(12, 29 * DAY), claim(13, timedelta(minutes=5)))
    await add(store, SeenRequest, *({"fingerprint": f"{n:064x}", "seen_at": T0 - timedelta(minutes=minutes)}
                                    for n, minutes in ((21, 12), (22, 5))))
    await add(store, LeaseRow, *({"name": name, "holder": "gone", "acquired_at": T0 - LEASES_KEEP - ended,
                                  "expires_at": T0 - ended} for name, ended in (
        ("dead long ago", LEASES_KEEP + timedelta(minutes=1)),  # goes
        ("crashed a minute ago", timedelta(minutes=1)),  # stays: a replica may be about to take it over
        ("held", -timedelta(seconds=20)))))
    audit = AuditLog(store, clock=lambda: T0 - 400 * DAY)
    await audit.record("resend", AuditOutcome.OK, ALICE)

    report = await retention(store).run_once()
    assert not report.skipped and report.stopped is None
    assert report.deleted == {"alert_outbox": 1, "resend_claims": 1, "seen_requests": 1, "leases": 1}
    assert await keys(store, AlertItem.message_id) == {2, 3, 4}
    assert await keys(store, ResendClaim.message_id) == {12, 13}
    assert await keys(store, SeenRequest.fingerprint) == {f"{22:064x}"}
    assert await keys(store, LeaseRow.name) == {"crashed a minute ago", "held"}  # and its own lease was released
    assert await count(store, AuditRecord) == 1  # the audit log is never pruned
    assert (await retention(store).run_once()).deleted == dict.fromkeys(TABLES, 0)


async def test_a_short_retention_still_keeps_the_resend_guard(stores: tuple[Store, Store]) -> None:
    store = stores[0]
    await add(store, ResendClaim, claim(1, CLAIMS_FLOOR + timedelta(minutes=1)), claim(2, CLAIMS_FLOOR / 2))
    short = retention(store, days=1)
    assert (await short.run_once()).deleted["resend_claims"] == 0  # a day is longer than the guard's floor
    late = retention(store, days=1, clock=lambda: T0 + DAY)
    assert (await late.run_once()).deleted["resend_claims"] == 2


async def test_it_prunes_in_small_batches(stores: tuple[Store, Store]) -> None:
    store = stores[0]
    await add(store, AlertItem, *(alert(n, sent=60 * DAY, posted=60 * DAY) for n in range(25)))
    report = await retention(store, batch=4).run_once()
    assert report.deleted["alert_outbox"] == 25 and await count(store, AlertItem) == 0
    assert report.batches == 7 + 3  # 4+4+4+4+4+4+1 outbox rows, then one (empty) batch for each other table


async def test_one_replica_prunes_at_a_time(stores: tuple[Store, Store]) -> None:
    first, second = retention(stores[0]), retention(stores[1])
    await add(stores[0], AlertItem, alert(1, sent=60 * DAY, posted=60 * DAY))
    assert await first.lease.acquire()  # the first replica is pruning
    assert (await second.run_once()).skipped
    assert "another replica is pruning" in PruneReport(skipped=True).summary()
    assert await count(stores[0], AlertItem) == 1
    await first.lease.release()
    assert (await second.run_once()).deleted["alert_outbox"] == 1


async def test_two_replicas_pruning_at_once_delete_each_row_once(stores: tuple[Store, Store]) -> None:
    """Even without the lease (a holder stalled past it while another took over): no error, no row left over."""
    await add(stores[0], AlertItem, *(alert(n, sent=60 * DAY, posted=60 * DAY) for n in range(40)))
    await add(stores[0], ResendClaim, *(claim(100 + n, 60 * DAY) for n in range(40)))
    reports = await asyncio.gather(retention(stores[0], batch=3).prune(), retention(stores[1], batch=3).prune())
    assert sum(report.deleted["alert_outbox"] for report in reports) == 40
    assert sum(report.deleted["resend_claims"] for report in reports) == 40
    assert await count(stores[0], AlertItem) == await count(stores[0], ResendClaim) == 0


async def test_a_pruner_that_lost_its_lease_stops(stores: tuple[Store, Store]) -> None:
    store = stores[0]
    await add(store, AlertItem, *(alert(n, sent=60 * DAY, posted=60 * DAY) for n in range(30)))
    pruner = retention(store, batch=1, pause=0.02, heartbeat=0.001)

    async def lost() -> bool:
        return False

    pruner.lease.renew = lost  # type: ignore[method-assign]  # another replica has it now
    report = await pruner.run_once()
    assert report.stopped is not None and "took the retention lease over" in report.stopped
    assert 0 < await count(store, AlertItem) < 30


def test_retention_days_come_from_the_settings() -> None:
    settings = Settings(_env_file=None, retention_days=7, alert_lookback_hours=72)  # type: ignore[call-arg]
    pruner = Retention.from_settings(settings, Store("sqlite+aiosqlite:///:memory:"))
    assert pruner.keep == timedelta(days=7) and pruner.lease.name == "retention"
    with pytest.raises(ValueError, match="positive"):
        Retention(Store("sqlite+aiosqlite:///:memory:"), days=0, lookback=LOOKBACK)


async def test_commops_db_prune_prunes_now(stores: tuple[Store, Store], tmp_path: Path) -> None:
    store, now = stores[0], datetime.now(UTC)
    await add(store, AlertItem, alert(1, sent=60 * DAY, posted=60 * DAY) | {"posted_at": now - 60 * DAY,
                                                                             "sent_at": now - 60 * DAY})
    await add(store, ResendClaim, claim(2, T0 - now + 8 * DAY))  # claimed eight days ago
    env = environment(DATABASE_URL=store.url, RETENTION_DAYS="7")
    assert await commops("db", "prune", cwd=tmp_path, env=env) == (
        0, "deleted 1 alert_outbox, 1 resend_claims, 0 seen_requests, 0 leases\n", "")
    assert await count(store, AlertItem) == await count(store, ResendClaim) == 0
