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
    """Items waiting per claimant. :meth:`pop` takes the next one fairly: the first lane that has one, and in it
    the user served longest ago (a user moves to the back of the lane's order each time one of theirs is taken)."""

    def __init__(self) -> None:
        self._lanes: dict[Lane, OrderedDict[str, deque[T]]] = {lane: OrderedDict() for lane in Lane}
        self._count = 0

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

    def pop(self, eligible: Callable[[Claimant], bool] = lambda _who: True) -> tuple[Claimant, T] | None:
        """The next item of a claimant ``eligible`` accepts, taken off the queue; None when there is none."""
        for lane, users in self._lanes.items():
            for user in users:
                who = Claimant(lane, user)
                if not eligible(who):
                    continue
                queue = users[user]
                item = queue.popleft()
                self._count -= 1
                if queue:
                    users.move_to_end(user)
                else:
                    del users[user]
                return who, item
        return None
