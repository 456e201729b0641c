"""A bound on the audit rows one user's denials can write: a user (or a script with their token) hammering a
command they may not use must not be able to fill the database, while every denial still leaves a trace."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("commops.audit")


@dataclass
class _Window:
    started: float
    written: int = 0
    suppressed: int = 0


class DenialThrottle:
    """At most ``per_window`` denial rows per user in ``window_seconds``; the rest are counted, and the first
    row written after them says how many were left out (so the log still tells the whole story in numbers)."""

    def __init__(self, *, per_window: int = 20, window_seconds: float = 60.0, users: int = 10_000,
                 clock: Callable[[], float], what: str = "denied") -> None:
        self._what = what  # what happened to the user's requests, for the log line
        self._per_window = per_window
        self._window = window_seconds
        self._users = users
        self._clock = clock
        self._windows: OrderedDict[str, _Window] = OrderedDict()

    def admit(self, user_id: str) -> int | None:
        """None when this denial is not to be written; else how many of this user's denials were left out
        before it (0 usually)."""
        now = self._clock()
        window = self._windows.get(user_id)
        carried = 0
        if window is None or now - window.started >= self._window:
            carried = window.suppressed if window is not None else 0
            window = _Window(now)
        self._windows[user_id] = window
        self._windows.move_to_end(user_id)
        while len(self._windows) > self._users:
            self._windows.popitem(last=False)
        if window.written >= self._per_window:
            if window.suppressed == 0:
                log.warning("user %s was %s more than %d times in %.0f s; further ones are counted, "
                            "not written one by one", user_id, self._what, self._per_window, self._window)
            window.suppressed += 1
            return None
        window.written += 1
        return carried
