"""Per-vendor request counting and a sliding 60-second rate limiter.

Every vendor request counts as an arrival (so a benchmark can read the busiest minute even with the limiter off);
only admitted requests use up the allowance, so a client that backs off gets served again.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Vendor = Literal["capillary", "comm"]
VENDORS: tuple[Vendor, ...] = ("capillary", "comm")
WINDOW_SECONDS = 60.0


@dataclass
class VendorTraffic:
    requests: int = 0
    rate_limited: int = 0  # 429s served by the limiter (not by fault rules)
    faulted: int = 0  # requests answered or spoiled by a fault rule
    max_in_window: int = 0  # most arrivals seen in any 60 s window
    arrivals: deque[float] = field(default_factory=deque)
    admitted: deque[float] = field(default_factory=deque)

    def as_dict(self, per_minute: int | None) -> dict[str, Any]:
        return {"requests": self.requests, "rate_limited": self.rate_limited, "faulted": self.faulted,
                "max_in_window": self.max_in_window, "per_minute": per_minute}


def _prune(times: deque[float], now: float) -> None:
    while times and times[0] <= now - WINDOW_SECONDS:
        times.popleft()


class Traffic:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.limits: dict[Vendor, int | None] = {vendor: None for vendor in VENDORS}
        self.vendors: dict[Vendor, VendorTraffic] = {vendor: VendorTraffic() for vendor in VENDORS}

    def arrive(self, vendor: Vendor) -> None:
        now, seen = self.clock(), self.vendors[vendor]
        seen.requests += 1
        _prune(seen.arrivals, now)
        seen.arrivals.append(now)
        seen.max_in_window = max(seen.max_in_window, len(seen.arrivals))

    def admit(self, vendor: Vendor) -> float | None:
        """None when the request may proceed, else the seconds until the window has room again."""
        limit, now, seen = self.limits[vendor], self.clock(), self.vendors[vendor]
        _prune(seen.admitted, now)
        if limit is None or len(seen.admitted) < limit:
            seen.admitted.append(now)
            return None
        seen.rate_limited += 1
        return max(1.0, math.ceil(seen.admitted[0] + WINDOW_SECONDS - now))

    def stats(self) -> dict[str, Any]:
        return {vendor: self.vendors[vendor].as_dict(self.limits[vendor]) for vendor in VENDORS}

    def reset(self) -> None:
        self.limits = {vendor: None for vendor in VENDORS}
        self.vendors = {vendor: VendorTraffic() for vendor in VENDORS}
