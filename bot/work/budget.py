"""A bound on the vendor work a process has accepted and not finished: in all, and per user.

A request is admitted with the number of vendor calls it will make (a ``/resend`` of 50 ids: 50) before it is
acknowledged. Over either bound it is not queued at all: the person is told at once that the bot is busy, how
much of theirs is still running, and when to try again. Admitted work holds a :class:`Ticket` and gives its calls
back as they finish, so the bound counts what waits and what runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

MAX_PENDING = 1000  # vendor calls accepted and not finished, in the process
MAX_PENDING_PER_USER = 100  # of them, one user's


@dataclass(frozen=True)
class Busy:
    """Why a request was not accepted: ``mine`` of the user's calls and ``total`` in all are still pending."""

    mine: int
    total: int
    asked: int
    limit: int
    per_user: bool  # the user's own bound was the one reached (else the process's)
    retry_after: float  # seconds, an estimate

    def text(self) -> str:
        """One mrkdwn line for the person."""
        yours = f"{self.mine} of yours {'is' if self.mine == 1 else 'are'} still running"
        if self.per_user:
            why = f"you may have {_calls(self.limit)} pending at once and asked for {self.asked} more"
        else:
            why = f"the bot has {_calls(self.total)} pending and takes on at most {self.limit}"
        return (f":hourglass: Busy: {yours} ({why}); try again in {wait_words(self.retry_after)}. "
                "Nothing was sent.")


def _calls(count: int) -> str:
    return f"{count} call" if count == 1 else f"{count} calls"


def wait_words(seconds: float) -> str:
    if seconds <= 10:
        return "a few seconds"
    if seconds < 90:
        return f"about {math.ceil(seconds / 10) * 10} s"
    return f"about {math.ceil(seconds / 60)} min"


class Ticket:
    """What one request was admitted with; :meth:`done` gives calls back as they finish, :meth:`close` the rest."""

    def __init__(self, budget: Budget, user: str, units: int) -> None:
        self._budget = budget
        self.user = user
        self.units = units

    def done(self, units: int = 1) -> None:
        given = min(units, self.units)
        if given > 0:
            self.units -= given
            self._budget._give_back(self.user, given)

    def close(self) -> None:
        self.done(self.units)

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class Budget:
    """``rate(one_user)``: the calls a second the bot gets through (for one user when ``one_user``), to say when to
    try again; 0 when not known yet."""

    def __init__(self, limit: int = MAX_PENDING, per_user: int = MAX_PENDING_PER_USER, *,
                 rate: Callable[[bool], float] = lambda _one_user: 0.0) -> None:
        if limit < 1 or per_user < 1:
            raise ValueError("the bounds must be at least 1")
        self.limit = limit
        self.per_user = per_user
        self._rate = rate
        self.total = 0
        self._users: dict[str, int] = {}

    def pending(self, user: str) -> int:
        return self._users.get(user, 0)

    def admit(self, user: str, units: int) -> Ticket | Busy:
        """A ticket for ``units`` calls, or why not (nothing is held then)."""
        mine = self._users.get(user, 0)
        # A request larger than the bound itself is admitted when nothing else of the user's is pending.
        over_user = mine + units > self.per_user and mine > 0
        over_all = self.total + units > self.limit and self.total > 0
        if over_user or over_all:
            ahead = (mine + units - self.per_user) if over_user else (self.total + units - self.limit)
            rate = self._rate(over_user)
            retry_after = ahead / rate if rate > 0 else 30.0
            return Busy(mine, self.total, units, self.per_user if over_user else self.limit, over_user,
                        retry_after)
        self.total += units
        self._users[user] = mine + units
        return Ticket(self, user, units)

    def _give_back(self, user: str, units: int) -> None:
        self.total -= units
        left = self._users.get(user, 0) - units
        if left > 0:
            self._users[user] = left
        else:
            self._users.pop(user, None)
