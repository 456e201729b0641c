"""Pruning the store: rows past their use are deleted in small batches, by one replica at a time.

What goes, and when (``RETENTION_DAYS``, default 30):

- ``alert_outbox``: an alert posted more than RETENTION_DAYS ago, about a message sent before the alert look-back
  (ALERT_LOOKBACK_HOURS) plus a day, so the poll can no longer find it and alert it again. Pending alerts stay until
  they are posted, however old. The Resend buttons of a pruned alert answer that it is not an alert the bot knows.
- ``resend_claims``: a resend claimed more than RETENTION_DAYS ago (never less than the ten-minute guard window plus
  its margin for a crashed resend). A claim outlives the guard window on purpose: it is what stops a stale copy of a
  "Resend anyway" button, or an alert's Resend, from resending again, so that protection lasts RETENTION_DAYS.
- ``seen_requests``: a signed request that can no longer pass the signature check (older than the replay guard's
  own window, bot/access/replays.py, which also prunes them as requests arrive).
- ``leases``: a lease that ended more than an hour ago, its holder gone (released leases leave no row). An hour, not
  at once: a replica waiting to take over a crashed holder's run (bot/alerts/job.py) tells "crashed" from
  "finished" by the expired row.
- ``approval_requests``: a request of the two-person rule whose time to be decided ended more than RETENTION_DAYS
  ago, whatever became of it (its whole story stays in the audit log), except one approved but never marked carried
  out: that is a run a crash cut short, kept for whoever looks into it.
- Never the audit log (its triggers refuse deletes anyway), nor the customers Capillary does not know (one row per
  watched customer at most).

Each table is pruned in batches of BATCH rows (DELETE … WHERE key IN (SELECT key … LIMIT n)), each its own short
transaction with a pause between them, so other writers (SQLite has one at a time) are never held up for long. The
``retention`` lease (bot/store/leases.py, renewed by a heartbeat) keeps replicas from pruning at the same time; were
two to prune at once anyway (a holder stalled past its lease), each batch deletes what is still there and nothing
else, so nothing goes wrong but a little wasted work.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import ColumnElement, delete, select

from bot.access.replays import KEEP as SEEN_REQUESTS_KEEP
from bot.background import stop_job
from bot.resend.claims import GUARD_WINDOW, STALE_PENDING
from bot.settings import Settings
from bot.store.engine import Store
from bot.store.leases import Heartbeat, Lease, holder_id
from bot.store.tables import AlertItem, ApprovalRequestRow, LeaseRow, ResendClaim, SeenRequest

log = logging.getLogger("commops.retention")

LEASE = "retention"
LEASE_TTL = timedelta(seconds=30)
BATCH = 500  # rows a DELETE removes at most
PAUSE = 0.05  # seconds between two batches, so other writers get their turn
EVERY = 3600.0  # seconds between two prunes
FIRST_AFTER = 60.0  # seconds from start to the first prune: the start itself is busy enough
STOP_GRACE = 2.0
LOOKBACK_MARGIN = timedelta(days=1)  # beyond ALERT_LOOKBACK_HOURS: clocks and time zones never re-find a message
CLAIMS_FLOOR = GUARD_WINDOW + STALE_PENDING  # a claim younger than this still decides a resend
LEASES_KEEP = timedelta(hours=1)  # after a lease ended
TABLES = ("alert_outbox", "resend_claims", "seen_requests", "leases", "approval_requests")


@dataclass(frozen=True)
class Rule:
    table: str
    key: Any  # the primary key column
    old: ColumnElement[bool]  # the rows to delete


@dataclass
class PruneReport:
    deleted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    batches: int = 0
    skipped: bool = False  # another replica holds the retention lease and prunes
    stopped: str | None = None  # why pruning stopped before the end; the next prune goes on

    def summary(self) -> str:
        if self.skipped:
            return "skipped: another replica is pruning"
        counts = ", ".join(f"{count} {table}" for table, count in self.deleted.items())
        return f"deleted {counts}" + (f"; stopped: {self.stopped}" if self.stopped else "")


class Retention:
    def __init__(self, store: Store, *, days: int, lookback: timedelta,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), batch: int = BATCH, pause: float = PAUSE,
                 lease_ttl: timedelta = LEASE_TTL, heartbeat: float | None = None, holder: str | None = None) -> None:
        if days < 1 or batch < 1:
            raise ValueError("retention days and the batch size must be positive")
        self._store = store
        self.keep = timedelta(days=days)
        self._lookback = lookback
        self._clock = clock
        self._batch = batch
        self._pause = pause
        self.lease = Lease(store, LEASE, holder or holder_id(), lease_ttl, clock)
        self._heartbeat = heartbeat or lease_ttl.total_seconds() / 3

    @classmethod
    def from_settings(cls, settings: Settings, store: Store, *, clock: Callable[[], datetime] | None = None,
                      **kwargs: Any) -> Retention:
        if clock is not None:
            kwargs["clock"] = clock
        return cls(store, days=settings.retention_days, lookback=timedelta(hours=settings.alert_lookback_hours),
                   **kwargs)

    def rules(self, now: datetime) -> list[Rule]:
        return [
            Rule("alert_outbox", AlertItem.message_id,
                 (AlertItem.state == "posted") & (AlertItem.posted_at < now - self.keep)
                 & (AlertItem.sent_at < now - self._lookback - LOOKBACK_MARGIN)),
            Rule("resend_claims", ResendClaim.message_id, ResendClaim.claimed_at < now - max(self.keep, CLAIMS_FLOOR)),
            Rule("seen_requests", SeenRequest.fingerprint, SeenRequest.seen_at < now - SEEN_REQUESTS_KEEP),
            Rule("leases", LeaseRow.name, LeaseRow.expires_at < now - LEASES_KEEP),
            Rule("approval_requests", ApprovalRequestRow.id,
                 (ApprovalRequestRow.expires_at < now - self.keep) & (ApprovalRequestRow.state != "approved")),
        ]

    async def run_once(self) -> PruneReport:
        """Prune everything that is due, if this replica gets the retention lease; else a report that says it was
        skipped."""
        if not await self.lease.acquire():
            return PruneReport(skipped=True)
        try:
            async with Heartbeat(self.lease, self._heartbeat) as heartbeat:
                return await self.prune(keep=lambda: heartbeat.held)
        finally:
            try:
                await asyncio.shield(self.lease.release())
            except Exception:  # it expires by itself
                log.warning("retention: could not release the retention lease", exc_info=True)

    async def prune(self, keep: Callable[[], bool] = lambda: True) -> PruneReport:
        """Delete what is due, table by table, batch by batch, while ``keep()`` (the lease is still ours)."""
        report = PruneReport()
        for rule in self.rules(self._clock()):
            while True:
                if not keep():
                    report.stopped = "another replica took the retention lease over"
                    return report
                deleted = await self._delete_batch(rule)
                report.batches += 1
                report.deleted[rule.table] += deleted
                if deleted < self._batch:
                    break
                await asyncio.sleep(self._pause)
        return report

    async def _delete_batch(self, rule: Rule) -> int:
        keys = select(rule.key).where(rule.old).limit(self._batch)
        table = rule.key.class_
        async with self._store.session() as session, session.begin():
            result = await session.execute(delete(table).where(rule.key.in_(keys)))
        return int(getattr(result, "rowcount", 0) or 0)


class RetentionScheduler:
    """Prunes every ``every`` seconds on the bot's event loop, the first time ``first_after`` seconds after start;
    never two prunes at once in one process (max_instances=1), nor on two replicas (the lease)."""

    def __init__(self, retention: Retention, *, every: float = EVERY, first_after: float = FIRST_AFTER) -> None:
        self.retention = retention
        self._every = every
        self._first_after = first_after
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._running: asyncio.Task[Any] | None = None

    def start(self) -> None:
        self._scheduler.add_job(
            self._tick, "interval", seconds=self._every, id="retention", max_instances=1, coalesce=True,
            misfire_grace_time=max(int(self._every), 1),
            next_run_time=datetime.now(UTC) + timedelta(seconds=self._first_after),
        )
        self._scheduler.start()
        log.info("retention: pruning every %g s, keeping %d days of posted alerts and resend claims",
                 self._every, self.retention.keep.days)

    async def _tick(self) -> None:
        self._running = asyncio.current_task()
        try:
            report = await self.retention.run_once()
        except asyncio.CancelledError:
            log.info("retention: pruning was stopped at shutdown; the next start goes on")
        except Exception:  # the store failed: the next prune tries again
            log.exception("retention: pruning failed; it is tried again in %g s", self._every)
        else:
            if report.skipped or not any(report.deleted.values()):
                log.debug("retention: %s", report.summary())
            else:
                log.info("retention: %s", report.summary())
        finally:
            self._running = None

    async def stop(self, grace: float = STOP_GRACE) -> None:
        await stop_job(self._scheduler, [self._running], grace)


def start_retention(settings: Settings, store: Store, *, clock: Callable[[], datetime] | None = None,
                    every: float = EVERY, first_after: float = FIRST_AFTER, **kwargs: Any) -> RetentionScheduler:
    """Start pruning ``store`` on the running loop, as RETENTION_DAYS says (whether alerts are on or not)."""
    scheduler = RetentionScheduler(Retention.from_settings(settings, store, clock=clock, **kwargs), every=every,
                                   first_after=first_after)
    scheduler.start()
    return scheduler
