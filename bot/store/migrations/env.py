"""Alembic's environment for the store's migrations.

The bot runs it through bot/store/schema.py, which opens the connection, takes the migration lock and begins the
one transaction the whole upgrade runs in; it hands the connection over in ``config.attributes["connection"]``.

A developer may also run Alembic's own command line from the repository (alembic.ini there), e.g.
``.venv/bin/alembic revision --autogenerate -m "…"`` against a database already at head: this file then opens
``DATABASE_URL`` (default the SQLite file of the settings) with the async engine itself, without the lock.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from bot.store import tables  # noqa: F401  (importing it registers every table on Base)
from bot.store.base import Base

config = context.config


def _migrate(connection: Connection) -> None:
    # transactional_ddl: SQLite and PostgreSQL both undo DDL with the transaction it ran in (Alembic assumes
    # otherwise for SQLite), so a failed upgrade leaves the database as it was.
    context.configure(connection=connection, target_metadata=Base.metadata, transactional_ddl=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _migrate_url(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate)
    finally:
        await engine.dispose()


def _database_url() -> str:
    from bot.settings import load_settings

    return config.get_main_option("sqlalchemy.url") or load_settings().database_url


if context.is_offline_mode():
    raise SystemExit("the store's migrations inspect the database as they go (the baseline adopts databases made "
                     "before migrations), so they cannot be written out as SQL: run them against a database")
given = config.attributes.get("connection")
if given is not None:
    _migrate(given)
else:
    asyncio.run(_migrate_url(_database_url()))
