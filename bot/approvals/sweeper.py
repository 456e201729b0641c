"""Requests nobody decided in time: marked expired when their time ends, not only when someone clicks, so the
request message stops offering Approve and Reject and says it expired.

Each sweep takes the pending requests past their time and expires each with the same conditional ``UPDATE … WHERE
state = 'pending' AND expires_at <= now`` a click uses: with several replicas sweeping, or a click arriving at the
same moment, one of them expires it, and only that one redraws the message and writes the audit row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.approvals.requests import ApprovalRequest
from bot.approvals.service import ApprovalService
from bot.background import stop_job

log = logging.getLogger("commops.approvals")

EVERY_SECONDS = 30.0  # how late an expired request's message may be redrawn at most
BATCH = 100  # requests one sweep expires at most; the next sweep takes the rest
STOP_GRACE = 2.0  # seconds a sweep under way at shutdown may take to finish

Redraw = Callable[[ApprovalRequest], Awaitable[None]]


class ExpirySweeper:
    def __init__(self, approvals: ApprovalService, redraw: Redraw, *, clock: Callable[[], datetime],
                 every: float = EVERY_SECONDS) -> None:
        self._approvals = approvals
        self._redraw = redraw
        self._clock = clock
        self._every = every
        self._scheduler: AsyncIOScheduler | None = None
        self._running: asyncio.Task[None] | None = None

    async def sweep(self) -> int:
        """Expire what is past its time now; how many this sweep expired (others may have taken some)."""
        expired = await self._approvals.expire_due(self._clock(), BATCH)
        for request in expired:
            try:
                await self._redraw(request)
            except Exception as error:  # it is expired all the same; a click on it says so
                log.warning("could not redraw expired approval request %s: %s", request.id, type(error).__name__)
        return len(expired)

    def start(self) -> None:
        """Sweep every ``every`` seconds on the bot's event loop (APScheduler, as the other jobs), the first now."""
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.add_job(self._tick, "interval", seconds=self._every, id="approval expiry", max_instances=1,
                                coalesce=True, misfire_grace_time=max(int(self._every), 1),
                                next_run_time=datetime.now(UTC))
        self._scheduler.start()

    async def _tick(self) -> None:
        self._running = asyncio.current_task()
        try:
            await self.sweep()
        except asyncio.CancelledError:
            log.info("approvals: the expiry sweep stopped at shutdown; the next start goes on")
        except Exception:  # the store is down, say: the next sweep tries again
            log.exception("approvals: the expiry sweep failed; trying again in %g s", self._every)
        finally:
            self._running = None

    async def stop(self, grace: float = STOP_GRACE) -> None:
        await stop_job(self._scheduler, [self._running], grace)
