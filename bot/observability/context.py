"""The Slack request being served, as log lines and metrics see it.

The authorize middleware (handlers/middleware/authorize.py) opens a :class:`RequestScope` for every request with
its attempt id, user and the action it decided on. The scope lives in a ContextVar, so everything the
request causes sees it: the listener, the services below it, and the work that goes on after the ack (an asyncio
task copies the context when it is created). JSON log lines carry its ids (bot/logs.py); the audit log notes each
outcome into it; and it counts the request once in ``commops_requests_total`` when the request is done: at once
when nothing runs after the ack (a denial), else when the listener's background work ends.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from bot.observability import metrics

# Worst last: a request's outcome is the worst one noted while it was served.
_SEVERITY = {outcome: rank for rank, outcome in enumerate(("ok", "busy", "denied", "invalid", "error"))}


@dataclass
class RequestScope:
    """One request: ``kind`` and ``name`` as the metrics label it, who and what as the logs show it."""

    kind: str
    name: str
    attempt_id: str | None = None
    user: str | None = None
    action: str | None = None
    outcome: str = "ok"
    started: float = field(default_factory=time.perf_counter)
    handed_off: bool = False  # a listener goes on after the ack, and finishes the request when it ends
    _acked: bool = False
    _finished: bool = False

    def note(self, outcome: str) -> None:
        """Keep ``outcome`` if it is worse than what was noted so far (ok < busy < denied < invalid < error)."""
        if _SEVERITY.get(outcome, 0) > _SEVERITY.get(self.outcome, 0):
            self.outcome = outcome

    def acked(self) -> None:
        """The ack is on its way: observe the time since the request arrived (once)."""
        if not self._acked:
            self._acked = True
            metrics.observe_ack(self.kind, time.perf_counter() - self.started)

    def finish(self, *, failed: bool = False) -> None:
        """The request is done: count it (once), as ``error`` when it failed."""
        if failed:
            self.note("error")
        if not self._finished:
            self._finished = True
            metrics.count_request(self.kind, self.name, self.outcome)


_current: ContextVar[RequestScope | None] = ContextVar("commops_request", default=None)


def current_request() -> RequestScope | None:
    return _current.get()


def enter_request(scope: RequestScope) -> RequestScope:
    """Make ``scope`` the current request for the rest of the running task (and every task it starts).

    For Bolt's middleware, which runs before the listener in the same task but cannot wrap it. Each Slack request is
    served in a task of its own (aiohttp's per request, slack_sdk's per Socket Mode message), which ends with it.
    """
    _current.set(scope)
    return scope


@contextlib.contextmanager
def serving(scope: RequestScope) -> Iterator[RequestScope]:
    """Make ``scope`` the current request for the block (and for every task started inside it)."""
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


def note_outcome(outcome: str) -> None:
    """Note an outcome (ok, denied, invalid, error) into the request being served, if any."""
    scope = _current.get()
    if scope is not None:
        scope.note(outcome)
