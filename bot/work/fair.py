"""Who goes next: the people's lane before the background one, and round-robin over the users of a lane.

Both places where vendor work waits use it, in the same order: the workers (turns.py) and the vendor's rate limit
(bot/vendors/rate_limit.py).
"""

from __future__ import annotations

import contextlib
import enum
import heapq
import itertools
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Generic, NamedTuple, TypeVar

from bot.observability.context import current_request

T = TypeVar("T")


class Lane(enum.IntEnum):
    """Served in this order: a person's call always goes before a background one."""

    PEOPLE = 0
    BACKGROUND = 1


class Claimant(NamedTuple):
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
    counts too (:meth:`served`). Each lane is a heap of the claimants with something waiting, keyed by their last
    turn, so taking one costs the same however many claimants wait."""

    def __init__(self, remember: int = 10_000) -> None:
        self._heaps: dict[Lane, list[tuple[int, int, Claimant]]] = {lane: [] for lane in Lane}
        self._queues: dict[Claimant, deque[T]] = {}
        self._entries: dict[Claimant, int] = {}  # each waiting claimant's live heap entry (older ones are stale)
        self._sequence = itertools.count()
        self._count = 0
        self._turns = 0
        self._last: OrderedDict[Claimant, int] = OrderedDict()  # each claimant's latest turn, oldest first
        self._remember = remember

    def __len__(self) -> int:
        return self._count

    def push(self, who: Claimant, item: T) -> None:
        queue = self._queues.get(who)
        if queue is None:
            queue = self._queues[who] = deque()
            self._enter(who)
        queue.append(item)
        self._count += 1

    def _enter(self, who: Claimant) -> None:
        entry = next(self._sequence)
        self._entries[who] = entry
        heapq.heappush(self._heaps[who.lane], (self._last.get(who, 0), entry, who))

    def remove(self, who: Claimant, item: T) -> bool:
        queue = self._queues.get(who)
        if queue is None or item not in queue:
            return False
        queue.remove(item)
        self._count -= 1
        if not queue:
            del self._queues[who], self._entries[who]  # its heap entry goes stale
        return True

    def waiting(self, who: Claimant) -> int:
        queue = self._queues.get(who)
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
        for heap in self._heaps.values():
            skipped: list[tuple[int, int, Claimant]] = []
            chosen: Claimant | None = None
            while heap:
                entry = heapq.heappop(heap)
                who = entry[2]
                if self._entries.get(who) != entry[1]:
                    continue  # stale: it stopped waiting (and may have come back under a new entry)
                if not eligible(who):
                    skipped.append(entry)
                    continue
                chosen = who
                break
            for entry in skipped:
                heapq.heappush(heap, entry)
            if chosen is None:
                continue
            queue = self._queues[chosen]
            item = queue.popleft()
            self._count -= 1
            self.served(chosen)
            if queue:
                self._enter(chosen)  # back in line, behind everyone served since
            else:
                del self._queues[chosen], self._entries[chosen]
            return chosen, item
        return None
