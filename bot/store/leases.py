"""Named leases in the store: one holder at a time for a job that several replicas sharing a database all run.

A lease is a row (name, holder, expires_at). ``acquire`` inserts it, or takes it over only when it has expired
or is already ours, in one INSERT … ON CONFLICT DO UPDATE … WHERE statement, so two replicas asking at once cannot
both get it. The holder ``renew``s it while the work lasts and ``release``s it at the end; a holder that crashed
simply lets it expire. Expiry is judged by each replica's clock, so replicas' clocks must agree to well within the
time to live.

A holder that stalls past its expiry may find the lease taken over; ``renew`` then fails, and the holder must stop
before doing anything others would repeat. ``condition`` gives the same check as a SQL clause, for a statement that
must only take effect while the lease is held.

Leases are short (tens of seconds), so that a crashed holder is replaced quickly: while the work runs, a
:class:`Heartbeat` renews the lease in a task of its own, and stops (saying so) as soon as a renewal finds it lost.
A released lease has no row; a row whose time is over means its holder died or stalled without releasing it (or
``expire``d it, stopping midway), which ``take_over`` (unlike ``acquire``) insists on: a replica that waits for a
holder takes over only unfinished work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, exists, or_, select, update

from bot.store.engine import Store
from bot.store.inserts import insert
from bot.store.tables import HOLDER, LeaseRow

log = logging.getLogger("commops.leases")

FINISH_RENEWAL = 5.0  # seconds a heartbeat's renewal in flight may take to finish when the work ends


def holder_id() -> str:
    """A new holder id: the host and pid say who it is in the table; the random part makes it unique, so a restarted
    process (even one given the same host name and pid, as in a container) is never mistaken for its previous
    incarnation, and waits for that one's lease to expire like any other replica."""
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

    async def take_over(self) -> bool:
        """Take the lease only if its holder let it expire without releasing it (it died, or stalled); True if we
        hold it now. A released lease (no row) or one still held is left alone."""
        now = self._clock()
        statement = update(LeaseRow).where(LeaseRow.name == self.name, LeaseRow.expires_at <= now).values(
            holder=self.holder, acquired_at=now, expires_at=now + self.ttl).returning(LeaseRow.name)
        async with self._store.session() as session, session.begin():
            return (await session.execute(statement)).first() is not None

    async def expiry(self) -> datetime | None:
        """When the lease's current term ends, whoever holds it (by its holder's clock); None when no one holds it
        or it was released."""
        async with self._store.session() as session:
            statement = select(LeaseRow.expires_at).where(LeaseRow.name == self.name)
            expires: datetime | None = await session.scalar(statement)
            return expires

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

    async def expire(self) -> None:
        """Give the lease up with its work unfinished (if it is still ours): its row stays, expired, so a holder
        waiting to ``take_over`` unfinished work does, as after a crash; anyone may ``acquire`` it."""
        now = self._clock()
        async with self._store.session() as session, session.begin():
            await session.execute(update(LeaseRow).where(LeaseRow.name == self.name, LeaseRow.holder == self.holder)
                                  .values(expires_at=now))

    async def held(self) -> bool:
        """Whether we hold the lease and it has not expired."""
        async with self._store.session() as session:
            return bool(await session.scalar(select(self.condition())))

    def condition(self, now: datetime | None = None) -> ColumnElement[bool]:
        """A SQL clause true while we hold the lease unexpired, to make a statement conditional on it."""
        at = self._clock() if now is None else now
        return exists().where(and_(LeaseRow.name == self.name, LeaseRow.holder == self.holder,
                                   LeaseRow.expires_at > at))


class Heartbeat:
    """Renews ``lease`` every ``every`` seconds while a block of work runs (``async with Heartbeat(...)``), in a task
    of its own, so the lease stays short however long the work takes. ``held`` turns False, for good, once a renewal
    finds the lease lost (taken over after a stall, or released); the work should then stop. A renewal that fails
    (the database does not answer) is tried again at the next beat: if that goes on past the lease's time, another
    replica may take it over, which the holder's own checks (``renew``, ``condition``) then notice."""

    def __init__(self, lease: Lease, every: float) -> None:
        if every <= 0:
            raise ValueError("a heartbeat's interval must be positive")
        self._lease = lease
        self._every = every
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.held = True
        self.beats = 0  # renewals that succeeded

    async def __aenter__(self) -> Heartbeat:
        self._task = asyncio.create_task(self._beat(), name=f"lease {self._lease.name} heartbeat")
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._stop.set()
        task = self._task
        if task is None:
            return
        # A renewal in flight may finish (cancelling it mid-statement could leave its transaction open, and SQLite's
        # write lock held, until the connection is cleaned up); then it stops.
        try:
            await asyncio.wait_for(asyncio.shield(task), FINISH_RENEWAL)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _beat(self) -> None:
        while self.held:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._every)
            if self._stop.is_set():
                return
            try:
                renewed = await self._lease.renew()
            except Exception as error:  # the next beat tries again
                log.warning("lease %s: could not renew it (%s); trying again in %g s", self._lease.name,
                            type(error).__name__, self._every)
                continue
            if renewed:
                self.beats += 1
            else:
                self.held = False
                log.warning("lease %s: lost (another holder took it over); this holder stops", self._lease.name)
