"""The store's ledger of a rate limit's send times (the Ledger of bot/vendors/rate_limit.py), shared by every
replica on the database.

A slice of the limiter's grid is a row ``(name, slice, used)``. Taking points is one INSERT … ON CONFLICT DO UPDATE
for all the slices asked for: a slice nobody touched yet is inserted with the points asked for; one that exists
gives what it has left (``used`` grows by it) and says how many in ``taken``; a full one is left alone and not
returned. Each row is changed under its own lock by one statement, so two replicas asking at once split a slice
between them and never share a point. Rows older than two periods are deleted now and then.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, delete, literal

from bot.store.engine import Store
from bot.store.inserts import insert
from bot.store.tables import RateSlice


class StoreLedger:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def take(self, name: str, wants: Sequence[tuple[int, int]], per_slice: int) -> list[tuple[int, int, int]]:
        if not wants:
            return []
        rows = insert(self._store, RateSlice).values(
            [{"name": name, "slice": number, "used": count, "taken": count} for number, count in wants])
        left = literal(per_slice) - RateSlice.used
        granted = case((rows.excluded.taken < left, rows.excluded.taken), else_=left)
        statement = rows.on_conflict_do_update(
            index_elements=["name", "slice"], set_={"taken": granted, "used": RateSlice.used + granted},
            where=RateSlice.used < per_slice,
        ).returning(RateSlice.slice, RateSlice.used, RateSlice.taken)
        async with self._store.session() as session, session.begin():
            answered = (await session.execute(statement)).all()
        return sorted((int(number), int(used) - int(taken), int(taken)) for number, used, taken in answered
                      if taken > 0)

    async def prune(self, name: str, before: int) -> None:
        async with self._store.session() as session, session.begin():
            await session.execute(delete(RateSlice).where(RateSlice.name == name, RateSlice.slice < before))
