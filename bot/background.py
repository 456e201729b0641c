"""Work that goes on after a request was acknowledged: tracked, logged when it fails, drained at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("commops.background")

INTERRUPTED_SECONDS = 5.0  # for interrupted work to write its "interrupted" rows before the store closes


class BackgroundWork:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)  # a strong reference: the loop keeps only weak ones
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Nobody awaits this task; without this line the failure would vanish.
            log.error("%s failed", task.get_name(), exc_info=task.exception())

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for work in progress; returns how many were still running."""
        if not self._tasks:
            return 0
        log.info("waiting up to %.0f s for %d requests in progress", timeout, len(self._tasks))
        _done, still = await asyncio.wait(set(self._tasks), timeout=timeout)
        return len(still)

    async def finish(self, timeout: float) -> int:
        """At shutdown, before the store closes: wait up to ``timeout`` seconds for work in progress, then interrupt
        what is left and give it a moment to record that it was interrupted (its audit rows and claims need the
        store). Returns how many were interrupted."""
        still = await self.drain(timeout)
        if still:
            log.warning("interrupting %d requests still in progress after %.0f s", still, timeout)
            for task in list(self._tasks):
                task.cancel()
            await asyncio.wait(set(self._tasks), timeout=INTERRUPTED_SECONDS)
        return still
