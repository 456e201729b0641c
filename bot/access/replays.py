"""Signed Slack requests already received, kept in the store for every replica: the replay guard's memory.

Slack does not de-duplicate, and a signed request stays valid for five minutes (its timestamp may be that far
from our clock either way), so a captured one can be sent again and would pass the signature check. Each request
is remembered by the sha256 of ``v0:{timestamp}:{signature}``: one INSERT … ON CONFLICT DO NOTHING, so of two
replicas receiving the same request at once exactly one inserts the row and serves it; the other finds it there.

A row is kept while its request could still pass the signature check: a request whose timestamp is five minutes
ahead of our clock stays valid until ten minutes after we first saw it; a minute on top allows for replicas'
clocks that disagree a little. Rows past that are deleted now and then (at most once a minute per process, after
an insert), so the table holds about ten minutes of traffic.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from bot.store.base import Base
from bot.store.engine import Store
from bot.store.tables import SeenRequest

log = logging.getLogger("commops.replays")

WINDOW = timedelta(minutes=5)  # how far a request's timestamp may be from the clock and still verify
KEEP = 2 * WINDOW + timedelta(minutes=1)
PRUNE_EVERY = timedelta(minutes=1)


class StoreUnavailable(RuntimeError):
    """The store did not answer, so whether a request was seen before is not known."""


def fingerprint(timestamp: str, signature: str) -> str:
    """What identifies one signed request: a digest of exactly what Slack signed it with."""
    return hashlib.sha256(f"v0:{timestamp}:{signature}".encode()).hexdigest()


def _insert(store: Store, table: type[Base]) -> sqlite.Insert | postgresql.Insert:
    # The minimal form of the dialect-aware insert (bot/store/inserts.py on the branch that adds it): both dialects'
    # inserts take on_conflict_do_nothing(index_elements=…) and returning(…) alike.
    return postgresql.insert(table) if store.dialect == "postgresql" else sqlite.insert(table)


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

    async def first_sighting(self, digest: str, attempt_id: str | None) -> Sighting | None:
        """Record the request ``digest`` names: None when no replica had seen it (it is now on record, under
        ``attempt_id``); else the earlier sighting. Raises :class:`StoreUnavailable`."""
        now = self._clock()
        statement = _insert(self._store, SeenRequest).values(
            fingerprint=digest, seen_at=now, attempt_id=attempt_id,
        ).on_conflict_do_nothing(index_elements=["fingerprint"]).returning(SeenRequest.fingerprint)
        try:
            async with self._store.session() as session, session.begin():
                if (await session.execute(statement)).first() is not None:
                    earlier = None
                else:
                    row = (await session.execute(
                        select(SeenRequest.seen_at, SeenRequest.attempt_id).where(SeenRequest.fingerprint == digest),
                    )).first()
                    # Pruned between the two statements: it was seen all the same, at a time no longer known.
                    earlier = Sighting(row.seen_at, row.attempt_id) if row is not None else Sighting(now, None)
        except (SQLAlchemyError, OSError) as error:
            raise StoreUnavailable(f"{type(error).__name__}: {error}") from error
        if earlier is None:
            await self._prune_if_due(now)
        return earlier

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
