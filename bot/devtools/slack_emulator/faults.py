"""Injected failures: rate limits and errors a test queues up for the next calls of a method."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from bot.devtools.slack_emulator.common import Failure


@dataclass
class _Fault:
    error: str
    status: int
    retry_after: int | None
    remaining: int


class Faults:
    """Failures queued per method (``"response_url"`` for response URLs), taken as calls arrive."""

    def __init__(self) -> None:
        super().__init__()
        self._faults: dict[str, deque[_Fault]] = {}

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        *,
        status: int | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (``"response_url"`` for response URLs) with ``error``.

        ``status`` defaults to 429 for ``ratelimited`` (with ``Retry-After``, default 1 s) and 200 otherwise, which
        is how Slack reports most errors.
        """
        if status is None:
            status = 429 if error == "ratelimited" else 200
        if status == 429 and retry_after is None:
            retry_after = 1
        self._faults.setdefault(method, deque()).append(_Fault(error, status, retry_after, times))

    def _take_fault(self, method: str) -> None:
        queue = self._faults.get(method)
        if not queue:
            return
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.popleft()
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
        raise Failure(fault.error, status=fault.status, headers=headers)
