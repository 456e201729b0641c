"""Signed Slack requests already received, kept in the store for every replica: the replay guard's memory.

Slack does not de-duplicate, and a signed request stays valid for five minutes (its timestamp may be that far
from our clock either way), so a captured one can be sent again and would pass the signature check. Each request
is remembered by the sha256 of ``v0:{timestamp}:{signature}``: one INSERT … ON CONFLICT DO NOTHING, so of two
replicas receiving the same request at once exactly one inserts the row and serves it; the other finds it there.

Each process also remembers the requests it received itself (:meth:`SeenRequests.seen_here`), which answers at
once, without a round trip to the store: Slack wants its answer within 3 seconds, and under load every store
round trip costs tens of milliseconds, so the acknowledgement does not wait for the store's verdict. Only the work
that follows it does (handlers/middleware/replay.py).

A row is kept while its request could still pass the signature check: a request whose timestamp is five minutes
ahead of our clock stays valid until ten minutes after we first saw it; a minute on top allows for replicas'
clocks that disagree a little. Rows past that are deleted now and then (at most once a minute per process, after
an insert), so the table holds about ten minutes of traffic.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import TextClause, bindparam, delete, select, text
from sqlalchemy.exc import SQLAlchemyError

from bot.store.base import UTCDateTime
from bot.store.engine import Store
from bot.store.tables import SeenRequest

log = logging.getLogger("commops.replays")

WINDOW = timedelta(minutes=5)  # how far a request's timestamp may be from the clock and still verify
KEEP = 2 * WINDOW + timedelta(minutes=1)
PRUNE_EVERY = timedelta(minutes=1)
BATCH = 128  # fingerprints written in one transaction at most (at 3 values each, a statement stays well inside
# SQLite's 32,766)
MAX_HERE = 200_000  # requests a process remembers itself (over 5 a second for KEEP), the oldest forgotten first


class StoreUnavailable(RuntimeError):
    """The store did not answer, so whether a request was seen before is not known."""


def _chunks(items: list[_Pending]) -> list[list[_Pending]]:
    """``items`` in pieces whose sizes are powers of two (300: 256, 32, 8, 4), so that a dozen statements serve
    every batch size, and the database driver's cache of prepared statements stays small."""
    pieces, start = [], 0
    for bit in reversed(range(len(items).bit_length())):
        if len(items) & (1 << bit):
            pieces.append(items[start:start + (1 << bit)])
            start += 1 << bit
    return pieces


@functools.lru_cache(maxsize=16)
def _insert_statement(count: int) -> TextClause:
    """INSERT … ON CONFLICT DO NOTHING RETURNING for ``count`` requests (a power of two), as SQL text made once per
    size: SQLAlchemy compiles its own ON CONFLICT statements again on every execution for SQLite. It reads the same
    on PostgreSQL."""
    rows = ", ".join(f"(:f{index}, :s{index}, :a{index})" for index in range(count))
    statement = text(f"INSERT INTO seen_requests (fingerprint, seen_at, attempt_id) VALUES {rows} "
                     "ON CONFLICT (fingerprint) DO NOTHING RETURNING fingerprint")
    return statement.bindparams(*(bindparam(f"s{index}", type_=UTCDateTime()) for index in range(count)))


def fingerprint(timestamp: str, signature: str) -> str:
    """What identifies one signed request: a digest of what Slack signed it with, in one spelling (the edge admits
    only that spelling too; this keeps a second one from counting as a new request all the same)."""
    canonical = str(int(timestamp)) if timestamp.isascii() and timestamp.isdigit() else timestamp
    return hashlib.sha256(f"v0:{canonical}:{signature.lower()}".encode()).hexdigest()


@dataclass(frozen=True)
class _Pending:
    digest: str
    attempt_id: str | None
    at: datetime
    future: asyncio.Future[Sighting | None]


@dataclass(frozen=True)
class Sighting:
    """When a request was first received, and the attempt id it was served under."""

    seen_at: datetime
    attempt_id: str | None


class SeenRequests:
    def __init__(self, store: Store, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 keep: timedelta = KEEP, prune_every: timedelta = PRUNE_EVERY) -> None:
        self._store = store
        self._clock = clock
        self._keep = keep
        self._prune_every = prune_every
        self._pruned_at: datetime | None = None
        self._here: OrderedDict[str, Sighting] = OrderedDict()  # in the order received
        self._queue: list[_Pending] = []  # waiting for the next write
        self._writer: asyncio.Task[None] | None = None


    def seen_here(self, digest: str, attempt_id: str | None) -> Sighting | None:
        """This process's own memory, at once: the earlier sighting of ``digest`` here, else None (and it is
        remembered from now on, under ``attempt_id``). One first received by another replica is known only to
        :meth:`first_sighting`."""
        now = self._clock()
        earlier = self._here.get(digest)
        if earlier is not None:
            return earlier
        self._here[digest] = Sighting(now, attempt_id)
        while self._here:
            oldest = next(iter(self._here.values()))
            if now - oldest.seen_at <= self._keep and len(self._here) <= MAX_HERE:
                break
            self._here.popitem(last=False)
        return None

    def learn(self, digest: str, first: Sighting) -> None:
        """The store knows an earlier sighting than this process's own (another replica served it): keep that."""
        if digest in self._here:
            self._here[digest] = first

    async def first_sighting(self, digest: str, attempt_id: str | None) -> Sighting | None:
        """Record the request ``digest`` names: None when no replica had seen it (it is now on record, under
        ``attempt_id``); else the earlier sighting. Raises :class:`StoreUnavailable`.

        Requests that arrive while a write is under way are recorded together in the next one (one transaction,
        one commit for all of them), so under load the guard adds few writes to a store that commits one at a
        time (SQLite); alone, a request is written at once."""
        return await self.sighting(digest, attempt_id)

    def sighting(self, digest: str, attempt_id: str | None) -> asyncio.Future[Sighting | None]:
        """:meth:`first_sighting` as a future: the request is queued for the next write now, and nothing else is
        kept for it (no task) while it waits."""
        future: asyncio.Future[Sighting | None] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(digest, attempt_id, self._clock(), future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_queued(), name="seen requests",
                                               context=contextvars.Context())
        return future

    async def _write_queued(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:BATCH], self._queue[BATCH:]
            try:
                found = await self._record(batch)
            except (SQLAlchemyError, OSError) as error:
                failure = StoreUnavailable(f"{type(error).__name__}: {error}")
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(failure)
                continue
            await self._prune_if_due(batch[-1].at)
            for item, earlier in zip(batch, found, strict=True):
                if not item.future.done():
                    item.future.set_result(earlier)

    async def _record(self, batch: list[_Pending]) -> list[Sighting | None]:
        """Insert the batch; for each of its requests, None if it is now on record, else its earlier sighting."""
        firsts: dict[str, _Pending] = {}
        for item in batch:
            firsts.setdefault(item.digest, item)
        before: dict[str, Sighting] = {}
        inserted: set[str] = set()
        async with self._store.session() as session, session.begin():
            for chunk in _chunks(list(firsts.values())):
                values: dict[str, Any] = {}
                for index, item in enumerate(chunk):
                    values[f"f{index}"], values[f"s{index}"], values[f"a{index}"] = (item.digest, item.at,
                                                                                     item.attempt_id)
                inserted.update((await session.execute(_insert_statement(len(chunk)), values)).scalars().all())
            there = [digest for digest in firsts if digest not in inserted]
            if there:
                query = select(SeenRequest.fingerprint, SeenRequest.seen_at, SeenRequest.attempt_id)
                found = (await session.execute(query.where(SeenRequest.fingerprint.in_(there)))).all()
                before = {row.fingerprint: Sighting(row.seen_at, row.attempt_id) for row in found}

        def earlier(item: _Pending) -> Sighting | None:
            first = firsts[item.digest]
            if first is not item:  # the same request twice in one batch: the first of them is the first sighting
                return before.get(item.digest) or Sighting(first.at, first.attempt_id)
            if item.digest in inserted:
                return None
            # Pruned between the two statements: it was seen all the same, at a time no longer known.
            return before.get(item.digest) or Sighting(item.at, None)

        return [earlier(item) for item in batch]

    async def _prune_if_due(self, now: datetime) -> None:
        if self._pruned_at is not None and now - self._pruned_at < self._prune_every:
            return
        self._pruned_at = now
        try:
            await self.prune(now)
        except (SQLAlchemyError, OSError) as error:  # the next insert a minute on tries again
            log.warning("could not prune the seen requests: %s", type(error).__name__)

    async def prune(self, now: datetime | None = None) -> int:
        """Forget the requests that can no longer pass the signature check; how many were forgotten."""
        cutoff = (self._clock() if now is None else now) - self._keep
        async with self._store.session() as session, session.begin():
            result = await session.execute(delete(SeenRequest).where(SeenRequest.seen_at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)
