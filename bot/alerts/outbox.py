"""The alert outbox in the store: a message is alerted once, and an alert is never lost.

Rows go in as ``pending`` (insert-or-ignore on the message id, so a message already known is never queued
again) and become ``posted`` with the Slack ts only after Slack accepted the post. Pending rows are picked up by
every run, so a Slack failure or a crash before the post is healed by the next run. The one duplicate left is a
crash between Slack accepting a post and the store recording it.

With several replicas on one store, only the holder of the job's lease (bot/leases.py) posts: it claims the pending
rows under its holder id in a statement that takes effect only while its lease holds, and records a post only on
rows still claimed by it. A holder that stalled and lost its lease claims nothing; its successor claims the rows
over again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.domain import Candidate, DigestItem, PostedItem, newest_first
from bot.store.engine import Store
from bot.store.inserts import insert
from bot.store.leases import Lease
from bot.store.tables import AlertItem, AlertMissingCustomer

BATCH = 500  # rows per INSERT: SQLite allows 32,766 bound parameters per statement


def as_item(row: AlertItem) -> DigestItem:
    return DigestItem(row.message_id, row.channel, row.receiver, row.status, row.sent_at, row.resent_by,
                      row.resent_at, row.resent_id, row.resend_error)


def as_posted(row: AlertItem) -> PostedItem:
    return PostedItem(as_item(row), row.slack_channel, row.slack_ts, row.in_thread)


class Outbox:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def enqueue(self, candidates: Iterable[Candidate], now: datetime) -> int:
        """Queue the messages not seen before; returns how many were new."""
        added = 0
        batch: list[dict[str, object]] = []
        for candidate in candidates:
            batch.append({
                "message_id": candidate.message_id, "channel": candidate.channel[:32],
                "receiver": candidate.receiver[:320], "status": candidate.status[:32], "sent_at": candidate.sent_at,
                "source": candidate.source, "customer": candidate.customer, "state": "pending", "found_at": now,
                "in_thread": False,
            })
            if len(batch) >= BATCH:
                added += await self._insert_batch(batch)
                batch = []
        if batch:
            added += await self._insert_batch(batch)
        return added

    async def _insert_batch(self, rows: list[dict[str, object]]) -> int:
        statement = insert(self._store, AlertItem).values(rows).on_conflict_do_nothing(
            index_elements=["message_id"]).returning(AlertItem.message_id)
        async with self._store.session() as session, session.begin():
            return len((await session.execute(statement)).all())

    async def pending(self) -> tuple[DigestItem, ...]:
        async with self._store.session() as session:
            rows = (await session.execute(select(AlertItem).where(AlertItem.state == "pending"))).scalars().all()
        return newest_first([as_item(row) for row in rows])

    async def pending_count(self) -> int:
        async with self._store.session() as session:
            return int(await session.scalar(select(func.count()).select_from(AlertItem)
                                             .where(AlertItem.state == "pending")) or 0)

    async def claim(self, lease: Lease) -> tuple[DigestItem, ...]:
        """Every pending item, claimed for ``lease``'s holder (taken from a holder that lost it), newest first;
        nothing if the lease is not held."""
        statement = (update(AlertItem).where(AlertItem.state == "pending", lease.condition())
                     .values(claimed_by=lease.holder).returning(AlertItem))
        async with self._store.session() as session, session.begin():
            rows = (await session.scalars(statement)).all()
            return newest_first([as_item(row) for row in rows])

    async def mark_posted(self, message_ids: Sequence[int], *, digest_id: str, channel: str, ts: str,
                          in_thread: bool, now: datetime, holder: str | None = None) -> None:
        """Record the post; with ``holder``, only on the rows still claimed by it."""
        claimed = [AlertItem.claimed_by == holder] if holder is not None else []
        async with self._store.session() as session, session.begin():
            for start in range(0, len(message_ids), BATCH):
                await session.execute(
                    update(AlertItem).where(AlertItem.message_id.in_(message_ids[start:start + BATCH]), *claimed)
                    .values(state="posted", digest_id=digest_id, slack_channel=channel, slack_ts=ts,
                            in_thread=in_thread, posted_at=now))

    # Customers Capillary does not know ------------------------------------------------------------------------

    async def remember_missing(self, customers: Iterable[str], now: datetime) -> None:
        rows = [{"customer": customer[:330], "missing_since": now, "reported_at": None} for customer in customers]
        for start in range(0, len(rows), BATCH):
            statement = insert(self._store, AlertMissingCustomer).values(rows[start:start + BATCH])
            async with self._store.session() as session, session.begin():
                await session.execute(statement.on_conflict_do_nothing(index_elements=["customer"]))

    async def forget_missing(self, customers: Sequence[str]) -> None:
        """Customers that exist again: should they vanish later, that is news worth reporting once more."""
        async with self._store.session() as session, session.begin():
            for start in range(0, len(customers), BATCH):
                await session.execute(delete(AlertMissingCustomer).where(
                    AlertMissingCustomer.customer.in_(customers[start:start + BATCH])))

    async def missing_unreported(self) -> tuple[str, ...]:
        statement = select(AlertMissingCustomer.customer).where(AlertMissingCustomer.reported_at.is_(None))
        async with self._store.session() as session:
            return tuple(sorted((await session.execute(statement)).scalars().all()))

    async def missing_known(self) -> frozenset[str]:
        async with self._store.session() as session:
            return frozenset((await session.execute(select(AlertMissingCustomer.customer))).scalars().all())

    async def mark_reported(self, customers: Sequence[str], now: datetime) -> None:
        async with self._store.session() as session, session.begin():
            for start in range(0, len(customers), BATCH):
                await session.execute(update(AlertMissingCustomer).where(
                    AlertMissingCustomer.customer.in_(customers[start:start + BATCH])).values(reported_at=now))

    # What the buttons need ------------------------------------------------------------------------------------

    async def items(self, message_ids: Sequence[int]) -> dict[int, AlertItem]:
        async with self._store.session() as session:
            rows = (await session.execute(select(AlertItem).where(AlertItem.message_id.in_(message_ids)))).scalars()
            return {row.message_id: row for row in rows}

    async def digest_items(self, digest_id: str) -> list[AlertItem]:
        async with self._store.session() as session:
            statement = select(AlertItem).where(AlertItem.digest_id == digest_id)
            return list((await session.execute(statement)).scalars().all())

    async def record_resend(self, message_id: int, *, user_id: str, at: datetime, resent_id: int | None,
                            error: str | None) -> None:
        await self.record_resends([Resent(message_id, user_id, at, resent_id, error)])

    async def record_resends(self, resends: Sequence[Resent]) -> None:
        """Who resent each item, when, and as which id (or why it failed), in one transaction."""
        if not resends:
            return

        async def write(session: AsyncSession) -> None:
            for item in resends:
                await session.execute(update(AlertItem).where(AlertItem.message_id == item.message_id).values(
                    resent_by=item.user_id, resent_at=item.at, resent_id=item.resent_id, resend_error=item.error))

        await self._store.write(write)


@dataclass(frozen=True)
class Resent:
    """An alert item's resend, as the digest shows it."""

    message_id: int
    user_id: str
    at: datetime
    resent_id: int | None
    error: str | None
