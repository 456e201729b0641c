"""Group commit: writes that arrive while one transaction is under way are committed together in the next.

Each write is an operation on a session (``async def op(session) -> result``). One task drains the queue: it runs
every waiting operation in one transaction and commits once, so under load a store that commits one transaction at
a time (SQLite, with an fsync per commit) does one commit for many writes, and a quiet store writes at once. If
the transaction fails, its operations are run again one by one, each in a transaction of its own, so one bad
write costs no other its row; each caller gets its own result or exception.

A write may also be plain rows for prepared statements (:class:`Rows`, e.g. an outcome and its audit row): the rows of
a group's writes for one statement go to the database in one ``executemany``, after the group's operations.

An operation runs even when its caller stops waiting (a cancelled request, a shutdown): a write that was asked for
is never dropped half-way. :meth:`GroupWriter.close` waits for the queue to empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("commops.store")

T = TypeVar("T")
BATCH = 256  # writes in one transaction at most


@dataclass(frozen=True)
class Rows:
    """Parameter sets for one statement (a Core statement on a table, with bound parameters), to be executed with
    those of other writes for the same statement object."""

    statement: Executable
    rows: Sequence[Mapping[str, Any]]


Operation = Callable[[AsyncSession], Awaitable[Any]] | tuple[Rows, ...]


class GroupWriter:
    def __init__(self, session: Callable[[], contextlib.AbstractAsyncContextManager[AsyncSession]]) -> None:
        self._session = session
        self._queue: list[tuple[Operation, asyncio.Future[Any]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, operation: Callable[[AsyncSession], Awaitable[T]]) -> T:
        return await self._submit(operation)  # type: ignore[no-any-return]

    async def submit_rows(self, *rows: Rows) -> None:
        await self._submit(rows)

    async def _submit(self, operation: Operation) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((operation, future))
        if self._task is None or self._task.done():
            # A context of its own: the drain's log lines belong to no request in particular.
            self._task = asyncio.get_running_loop().create_task(self._drain(), name="store writes",
                                                                context=contextvars.Context())
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:BATCH], self._queue[BATCH:]
            try:
                results = await self._together(batch)
            except Exception as error:
                if len(batch) == 1:
                    _settle(batch[0][1], error=error)
                    continue
                log.debug("a group of %d writes failed (%s); writing them one by one", len(batch),
                          type(error).__name__)
                for operation, future in batch:
                    try:
                        (result,) = await self._together([(operation, future)])
                    except Exception as alone:
                        _settle(future, error=alone)
                    else:
                        _settle(future, result=result)
                continue
            for (_operation, future), result in zip(batch, results, strict=True):
                _settle(future, result=result)

    async def _together(self, batch: list[tuple[Operation, asyncio.Future[Any]]]) -> list[Any]:
        results: list[Any] = []
        merged: dict[int, tuple[Executable, list[Mapping[str, Any]]]] = {}
        async with self._session() as session, session.begin():
            for operation, _future in batch:
                if isinstance(operation, tuple):
                    for part in operation:
                        merged.setdefault(id(part.statement), (part.statement, []))[1].extend(part.rows)
                    results.append(None)
                else:
                    results.append(await operation(session))
            for statement, rows in merged.values():
                if rows:
                    await session.execute(statement, rows)
        return results

    async def close(self) -> None:
        """Wait for every queued write to be done."""
        task = self._task
        if task is not None and not task.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(task)


def _settle(future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    if future.done():  # the caller stopped waiting; the write happened (or failed) all the same
        if error is not None:
            log.warning("a write nobody waited for any more failed: %s: %s", type(error).__name__, error)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
