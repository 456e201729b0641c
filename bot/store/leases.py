"""Named leases in the store: one holder at a time for a job that several replicas sharing a database all run.

A lease is a row (name, holder, expires_at). ``acquire`` inserts it, or takes it over only when it has expired
or is already ours, in one INSERT … ON CONFLICT DO UPDATE … WHERE statement, so two replicas asking at once cannot
both get it. The holder ``renew``s it while the work lasts and ``release``s it at the end; a holder that crashed
simply lets it expire. Expiry is judged by each replica's clock, so replicas' clocks must agree to well within the
time to live.

A holder that stalls past its expiry may find the lease taken over; ``renew`` then fails, and the holder must stop
before doing anything others would repeat. ``condition`` gives the same check as a SQL clause, for a statement that
must only take effect while the lease is held.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, exists, or_, select, update

from bot.store.engine import Store
from bot.store.inserts import insert
from bot.store.tables import HOLDER, LeaseRow


def holder_id() -> str:
    """An id for this process: the host and pid say who it is in the table; the random part makes it unique."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"[:HOLDER]


class Lease:
    def __init__(self, store: Store, name: str, holder: str, ttl: timedelta,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        if ttl <= timedelta(0):
            raise ValueError("a lease's time to live must be positive")
        self._store = store
        self.name = name
        self.holder = holder[:HOLDER]
        self.ttl = ttl
        self._clock = clock

    async def acquire(self) -> bool:
        """Take the lease if it is free, expired or already ours; True if we hold it now."""
        now = self._clock()
        values = {"name": self.name, "holder": self.holder, "acquired_at": now, "expires_at": now + self.ttl}
        statement = insert(self._store, LeaseRow).values(**values).on_conflict_do_update(
            index_elements=["name"], set_={key: value for key, value in values.items() if key != "name"},
            where=or_(LeaseRow.expires_at <= now, LeaseRow.holder == self.holder),
        ).returning(LeaseRow.name)
        async with self._store.session() as session, session.begin():
            return (await session.execute(statement)).first() is not None

    async def renew(self) -> bool:
        """Extend the lease by its time to live; False if it is no longer ours (taken over, or released)."""
        now = self._clock()
        statement = update(LeaseRow).where(LeaseRow.name == self.name, LeaseRow.holder == self.holder).values(
            expires_at=now + self.ttl).returning(LeaseRow.name)
        async with self._store.session() as session, session.begin():
            return (await session.execute(statement)).first() is not None

    async def release(self) -> None:
        """Give the lease up (if it is still ours), so another holder need not wait for it to expire."""
        async with self._store.session() as session, session.begin():
            await session.execute(delete(LeaseRow).where(LeaseRow.name == self.name, LeaseRow.holder == self.holder))

    async def held(self) -> bool:
        """Whether we hold the lease and it has not expired."""
        async with self._store.session() as session:
            return bool(await session.scalar(select(self.condition())))

    def condition(self, now: datetime | None = None) -> ColumnElement[bool]:
        """A SQL clause true while we hold the lease unexpired, to make a statement conditional on it."""
        at = self._clock() if now is None else now
        return exists().where(and_(LeaseRow.name == self.name, LeaseRow.holder == self.holder,
                                   LeaseRow.expires_at > at))
