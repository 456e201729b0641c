"""The store's ledger of a rate limit's send times (the Ledger of bot/vendors/rate_limit.py), shared by every
replica on the database.

A slice of the limiter's grid is a row ``(name, slice, used)``. Taking points is one INSERT … ON CONFLICT DO UPDATE
for all the slices asked for: a slice nobody touched yet is inserted with the points asked for; one that exists
gives what it has left (``used`` grows by it) and says how many in ``taken``; a full one is left alone and not
returned. Each row is changed under its own lock by one statement, so two replicas asking at once split a slice
between them and never share a point. Rows older than two periods are deleted now and then. The statement is SQL
text that reads the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import TextClause, delete, text

from bot.store.engine import Store
from bot.store.tables import RateSlice


@functools.lru_cache(maxsize=64)
def _take_statement(count: int) -> TextClause:
    """The statement for ``count`` slices, as SQL text made once per size (SQLAlchemy compiles its own ON CONFLICT
    statements again on every execution for SQLite). ``excluded.taken`` is what a row asks for; the row's own
    values on the right of SET are those from before the statement, on both databases."""
    rows = ", ".join(f"(:name, :k{index}, :c{index}, :c{index})" for index in range(count))
    granted = ("CASE WHEN excluded.taken < :per - rate_slices.used THEN excluded.taken "
               "ELSE :per - rate_slices.used END")
    return text(f"INSERT INTO rate_slices (name, slice, used, taken) VALUES {rows} "
                f"ON CONFLICT (name, slice) DO UPDATE SET taken = {granted}, used = rate_slices.used + {granted} "
                "WHERE rate_slices.used < :per RETURNING slice, used, taken")


class StoreLedger:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def take(self, name: str, wants: Sequence[tuple[int, int]], per_slice: int) -> list[tuple[int, int, int]]:
        if not wants:
            return []
        values: dict[str, Any] = {"name": name, "per": per_slice}
        for index, (number, count) in enumerate(wants):
            values[f"k{index}"], values[f"c{index}"] = number, count
        async with self._store.session() as session, session.begin():
            answered = (await session.execute(_take_statement(len(wants)), values)).all()
        return sorted((int(number), int(used) - int(taken), int(taken)) for number, used, taken in answered
                      if taken > 0)

    async def prune(self, name: str, before: int) -> None:
        async with self._store.session() as session, session.begin():
            await session.execute(delete(RateSlice).where(RateSlice.name == name, RateSlice.slice < before))
