"""INSERT … ON CONFLICT for the store's dialect: SQLite by default, PostgreSQL for several replicas.

Both dialects' inserts offer ``on_conflict_do_nothing``, ``on_conflict_do_update`` (with ``where``) and ``returning``
with the same arguments, so a statement built from :func:`insert` reads the same on either.
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

from bot.store.base import Base
from bot.store.engine import Store

Insert = sqlite.Insert | postgresql.Insert


def insert(store: Store, table: type[Base] | Table) -> Insert:
    """An INSERT into ``table`` that supports ON CONFLICT on ``store``'s database (on the ORM class, or on its Table
    for plain rows executed many at a time)."""
    return postgresql.insert(table) if store.dialect == "postgresql" else sqlite.insert(table)
