"""The expiry sweep as commops run starts it: a sweep at once, then every so often, stopped at shutdown; a
failing sweep or redraw does not stop the next."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, cast

from bot.approvals.requests import ApprovalRequest
from bot.approvals.service import ApprovalService
from bot.approvals.sweeper import ExpirySweeper


class Approvals:
    """Stands in for the service: each sweep hands out one expired request, the first sweep fails."""

    def __init__(self) -> None:
        self.sweeps = 0
        self.third = asyncio.Event()

    async def expire_due(self, now: datetime, limit: int) -> list[Any]:
        self.sweeps += 1
        if self.sweeps == 1:
            raise OSError("the store is down")
        if self.sweeps == 3:
            self.third.set()
        return [f"request {self.sweeps}"]


async def test_it_sweeps_at_once_and_again_and_survives_failures() -> None:
    approvals = Approvals()
    redrawn: list[str] = []

    async def redraw(request: ApprovalRequest) -> None:
        redrawn.append(str(request))
        raise RuntimeError("Slack said no")  # logged; the request is expired all the same

    sweeper = ExpirySweeper(cast(ApprovalService, approvals), redraw, clock=lambda: datetime.now(UTC), every=0.01)
    sweeper.start()
    await asyncio.wait_for(approvals.third.wait(), timeout=10)
    await sweeper.stop()
    assert redrawn[:2] == ["request 2", "request 3"]
