"""The call log: every request the emulator answered, as a :class:`Call` a test can read or wait for and the
shell can watch."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from bot.devtools.slack_emulator.common import Call


@dataclass(eq=False)  # compared by identity when removed from the waiting list
class _Waiter:
    method: str | None
    predicate: Callable[[Call], bool] | None
    include_failed: bool
    future: asyncio.Future[Call]

    def matches(self, call: Call) -> bool:
        if self.method is not None and call.method != self.method:
            return False
        if not self.include_failed and not call.ok:
            return False
        return self.predicate is None or self.predicate(call)


class CallLog:
    """Recorded calls, the tests waiting for one, and the queues watching them all."""

    def __init__(self) -> None:
        super().__init__()
        self._calls: list[Call] = []
        self._waiters: list[_Waiter] = []
        self._subscribers: list[asyncio.Queue[Call]] = []

    def calls(self, method: str | None = None, *, include_failed: bool = False) -> list[Call]:
        """Calls so far, oldest first; failed ones (injected or not) only with ``include_failed``."""
        return [c for c in self._calls if (method is None or c.method == method) and (include_failed or c.ok)]

    def clear(self) -> None:
        """Forget recorded calls (messages, views and seeded data stay)."""
        self._calls.clear()

    async def wait_for(
        self,
        method: str | None,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 5.0,
        *,
        include_failed: bool = False,
    ) -> Call:
        """The first call so far that matches, else the next one to arrive; TimeoutError after ``timeout``."""
        waiter = _Waiter(method, predicate, include_failed, asyncio.get_running_loop().create_future())
        for call in self._calls:
            if waiter.matches(call):
                return call
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter.future, timeout)
        except TimeoutError:
            seen = [(c.method, c.error) for c in self._calls[-10:]]
            raise TimeoutError(f"no matching {method or 'any'} call within {timeout}s; last calls: {seen}") from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def subscribe(self) -> asyncio.Queue[Call]:
        """A queue that receives every call from now on (failed ones included), e.g. for a live renderer."""
        queue: asyncio.Queue[Call] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Call]) -> None:
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    def _record(self, call: Call) -> None:
        self._calls.append(call)
        for queue in self._subscribers:
            queue.put_nowait(call)
        for waiter in list(self._waiters):
            if waiter.future.done():
                self._waiters.remove(waiter)
                continue
            try:
                hit = waiter.matches(call)
            except Exception as exc:  # a broken predicate fails its waiter, not the request being served
                waiter.future.set_exception(exc)
                self._waiters.remove(waiter)
                continue
            if hit:
                waiter.future.set_result(call)
                self._waiters.remove(waiter)
