"""The bot's database: one async SQLAlchemy engine (SQLite by default, PostgreSQL for several replicas).

Connections are handed out by an asyncio semaphore as large as the pool, so a session waits its turn in FIFO order
and never meets the pool's own timeout ("QueuePool limit … reached"): running out of connections cannot happen, by
construction. SQLite gets one connection (WAL): it has one writer at a time anyway, and queueing in the process is
cheaper than connections of one process busy-waiting on the file's lock. PostgreSQL gets a small pool: the bot's
hot writes are committed in groups through one connection (:meth:`Store.write`, bot/store/writes.py), so the pool
need not grow with the work the bot accepts.

``/readyz`` asks through :meth:`Store.probe`, a connection of its own, so a readiness check never queues behind
the bot's work.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from bot.store.writes import GroupWriter, Rows

T = TypeVar("T")

POSTGRES_CONNECTIONS = 8  # the writer's one, leases, the outbox, reads; see the module's docstring


class Store:
    """The connection pool and sessions. Its schema is made and upgraded by migrations only (bot/store/schema.py:
    ``await upgrade(store)`` before first use)."""

    def __init__(self, url: str, *, connections: int = POSTGRES_CONNECTIONS) -> None:
        self.url = url
        parsed = make_url(url)
        sqlite = parsed.get_backend_name() == "sqlite"
        self.in_memory = sqlite and parsed.database in (None, "", ":memory:")
        kwargs: dict[str, Any] = {}
        if sqlite:
            kwargs["connect_args"] = {"timeout": 15}
            size = 1
            if not self.in_memory:  # an in-memory database is one static connection already
                kwargs.update(pool_size=1, max_overflow=0)
        else:
            size = connections
            kwargs.update(pool_size=size, max_overflow=0)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        self._probe_engine: AsyncEngine | None = None
        if sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.connections = size
        self._slots = asyncio.Semaphore(size)
        self._writer = GroupWriter(self.session)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session holding one of the pool's connections until the block ends (waiting for one, FIFO)."""
        async with self._slots, self.sessions() as session:
            yield session

    async def write(self, operation: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``operation(session)`` in a transaction, committed together with the writes that arrive meanwhile;
        its result, or its exception. It runs even if the caller stops waiting (see bot/store/writes.py)."""
        return await self._writer.submit(operation)

    async def write_rows(self, *rows: Rows) -> None:
        """Execute the rows in one transaction, merged with the same statements' rows of the writes committed
        with them (bot/store/writes.py)."""
        await self._writer.submit_rows(*rows)

    @contextlib.asynccontextmanager
    async def probe(self) -> AsyncIterator[AsyncConnection]:
        """A connection of its own for health checks: it never waits for the bot's work to free one."""
        if self.in_memory:  # nobody else can see an in-memory database: the store's own connection it is
            async with self._slots, self.engine.connect() as connection:
                yield connection
            return
        if self._probe_engine is None:
            self._probe_engine = create_async_engine(self.url, poolclass=NullPool)
            if self.dialect == "sqlite":
                event.listen(self._probe_engine.sync_engine, "connect", _sqlite_pragmas)
        async with self._probe_engine.connect() as connection:
            yield connection

    async def close(self) -> None:
        await self._writer.close()
        await self.engine.dispose()
        if self._probe_engine is not None:
            await self._probe_engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # busy_timeout waits for the lock (another process's) instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()
    use_wal(dbapi_connection, patience_seconds=15)


def use_wal(dbapi_connection: Any, *, patience_seconds: float) -> None:
    """Put a SQLite database in WAL mode, which lets readers work while one writer writes.

    Switching to WAL takes the file's exclusive lock without SQLite's busy handler, so two processes opening a new
    database together can see "database is locked" at once: retry for a while, as busy_timeout would."""
    deadline = time.monotonic() + patience_seconds
    pause = 0.005
    while True:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() + pause > deadline:
                raise
        finally:
            cursor.close()
        time.sleep(pause)  # only while connecting, and only while another process switches the file over
        pause = min(pause * 2, 0.2)
