"""Who goes next: the people's lane before the background one, and round-robin over the users of a lane.

Both places where vendor work waits use it, in the same order: the workers (turns.py) and the vendor's rate limit
(bot/vendors/rate_limit.py).
"""

from __future__ import annotations

import contextlib
import enum
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.observability.context import current_request

T = TypeVar("T")


class Lane(enum.IntEnum):
    """Served in this order: a person's call always goes before a background one."""

    PEOPLE = 0
    BACKGROUND = 1


@dataclass(frozen=True)
class Claimant:
    """Whom a vendor call is for: its lane, and the user (``""`` in the background lane)."""

    lane: Lane
    user: str


_claimant: ContextVar[Claimant | None] = ContextVar("commops_claimant", default=None)


def claimant() -> Claimant:
    """Whom the running code's vendor calls are for: the turn it holds (turns.py); else the Slack request it serves;
    else the background (a scheduled job, a command line run)."""
    held = _claimant.get()
    if held is not None:
        return held
    scope = current_request()
    if scope is not None:
        return Claimant(Lane.PEOPLE, scope.user or "")
    return Claimant(Lane.BACKGROUND, "")


@contextlib.contextmanager
def claiming(who: Claimant) -> Iterator[None]:
    """Vendor calls made in the block are for ``who``."""
    token = _claimant.set(who)
    try:
        yield
    finally:
        _claimant.reset(token)


class FairQueue(Generic[T]):
    """Items waiting per claimant. :meth:`pop` takes the next one fairly: from the first lane that has one, the
    claimant whose turn came longest ago (or never); ties go to whoever waited first. A turn taken without waiting
    counts too (:meth:`served`)."""

    def __init__(self, remember: int = 10_000) -> None:
        self._lanes: dict[Lane, dict[str, deque[T]]] = {lane: {} for lane in Lane}
        self._count = 0
        self._turns = 0
        self._last: OrderedDict[Claimant, int] = OrderedDict()  # each claimant's latest turn, oldest first
        self._remember = remember

    def __len__(self) -> int:
        return self._count

    def push(self, who: Claimant, item: T) -> None:
        self._lanes[who.lane].setdefault(who.user, deque()).append(item)
        self._count += 1

    def remove(self, who: Claimant, item: T) -> bool:
        users = self._lanes[who.lane]
        queue = users.get(who.user)
        if queue is None or item not in queue:
            return False
        queue.remove(item)
        self._count -= 1
        if not queue:
            del users[who.user]
        return True

    def waiting(self, who: Claimant) -> int:
        queue = self._lanes[who.lane].get(who.user)
        return len(queue) if queue is not None else 0

    def served(self, who: Claimant) -> None:
        """``who`` had a turn now."""
        self._turns += 1
        self._last[who] = self._turns
        self._last.move_to_end(who)
        if len(self._last) > self._remember:
            self._last.popitem(last=False)

    def pop(self, eligible: Callable[[Claimant], bool] = lambda _who: True) -> tuple[Claimant, T] | None:
        """The next item of a claimant ``eligible`` accepts, taken off the queue (its turn noted); None when there is
        none."""
        for lane, users in self._lanes.items():
            candidates = [Claimant(lane, user) for user in users]
            chosen = min((who for who in candidates if eligible(who)), key=lambda who: self._last.get(who, 0),
                         default=None)
            if chosen is None:
                continue
            queue = users[chosen.user]
            item = queue.popleft()
            self._count -= 1
            if not queue:
                del users[chosen.user]
            self.served(chosen)
            return chosen, item
        return None
