"""Work that goes on after a request was acknowledged: tracked, logged when it fails, drained at shutdown.

After a burst (many pieces of work since the last time it was idle) the process gives back the memory the burst
freed: once no work is left, it collects garbage and asks the C allocator to return its free pages to the system
(glibc's ``malloc_trim``). Without that, a process that once served 10,000 requests at once keeps the memory of
that moment for ever, though it is free.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger("commops.background")

INTERRUPTED_SECONDS = 5.0  # for interrupted work to write its "interrupted" rows before the store closes
BURST = 500  # pieces of work since the last idle moment that make the next one give memory back
IDLE_SECONDS = 1.0  # how long it must stay idle first


def _malloc_trim() -> Callable[[], None]:
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: the garbage collection alone
        return lambda: None
    return lambda: trim(0) and None


_TRIM = _malloc_trim()


class BackgroundWork:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._since_idle = 0
        self._trimming: asyncio.TimerHandle | None = None

    def spawn(self, work: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)  # a strong reference: the loop keeps only weak ones
        task.add_done_callback(self._finished)
        self._since_idle += 1
        if self._trimming is not None:
            self._trimming.cancel()
            self._trimming = None
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not self._tasks and self._since_idle >= BURST:
            self._trimming = asyncio.get_running_loop().call_later(IDLE_SECONDS, self._give_memory_back)
        if not task.cancelled() and task.exception() is not None:
            # Nobody awaits this task; without this line the failure would vanish.
            log.error("%s failed", task.get_name(), exc_info=task.exception())

    def _give_memory_back(self) -> None:
        self._trimming = None
        self._since_idle = 0
        collected = gc.collect()
        _TRIM()
        log.info("idle after a burst of work: %d objects collected, free memory given back", collected)

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


async def stop_job(scheduler: AsyncIOScheduler | None, running: Iterable[asyncio.Task[Any] | None],
                   grace: float) -> None:
    """Stop a periodic job (APScheduler on the bot's loop) before the store closes: no new run; a run under way
    gets ``grace`` seconds to finish, then is cancelled and gets ``grace`` more to clean up after itself (release
    its lease, write its rows)."""
    if scheduler is not None and scheduler.running:
        scheduler.shutdown(wait=False)
    tasks = {task for task in running if task is not None and not task.done()}
    if not tasks:
        return
    _done, still = await asyncio.wait(tasks, timeout=grace)
    for task in still:
        task.cancel()
    if still:
        await asyncio.wait(still, timeout=grace)
