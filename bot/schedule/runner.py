"""The runner: every few seconds, run what is due (each action once, across replicas and restarts) and tell the
channel.

One :meth:`ScheduleRunner.poll`:
1. takes over actions whose runner went away mid-run (claimed more than STALE_AFTER ago, never finished) and runs
   them again through the same checks;
2. claims each due pending action (one atomic UPDATE: only one runner of any replica ever gets it), runs it through
   bot.schedule.service, and marks it done with its report;
3. tells the channel each outcome not told yet (its own, and others' whose runner could not), then marks it told.

Time comes from an injected clock, so tests move it instead of sleeping. At start the first poll runs at once: what
fell due while the bot was down runs then, and its report says how late. An APScheduler interval job on the bot's
event loop calls ``poll`` (never two at once; missed polls coalesced); :meth:`stop` lets a run in progress finish.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.background import stop_job
from bot.schedule.actions import REPORT_GIVE_UP, ScheduledAction, ScheduledActions
from bot.schedule.report import Reporter, RunReport, RunResult, base_report
from bot.schedule.service import ScheduleService
from bot.store.leases import holder_id

log = logging.getLogger("commops.schedule")

POLL_SECONDS = 5.0
STOP_GRACE = 10.0  # a run in progress at shutdown may take this long to finish (GET, PUT, verify)
MAX_TELL_BATCHES = 10  # of bot.schedule.actions' 20: at most 200 outcomes told per poll, the rest at the next


class ScheduleRunner:
    def __init__(self, service: ScheduleService, reporter: Reporter, *, holder: str | None = None,
                 clock: Callable[[], datetime] | None = None, poll_seconds: float = POLL_SECONDS,
                 on_reported: Callable[[], Any] | None = None) -> None:
        self.service = service
        self.actions: ScheduledActions = service.actions
        self._reporter = reporter
        self.holder = holder or holder_id()
        self._clock = clock or service.clock
        self.poll_seconds = poll_seconds
        self.on_reported = on_reported  # the shell redraws when an outcome is posted
        self._scheduler: AsyncIOScheduler | None = None
        self._lock = asyncio.Lock()  # one poll at a time in this process (the store keeps replicas apart)
        self._running: asyncio.Task[Any] | None = None

    async def poll(self) -> list[RunReport]:
        """Run what is due now; the reports of the runs this poll made (told to their channels where Slack took
        them)."""
        async with self._lock:
            now = self._clock()
            done: list[RunReport] = []
            for action_id in await self.actions.stalled(now):
                action = await self.actions.take_over(action_id, self.holder, now)
                if action is not None:
                    log.warning("schedule: taking over %s (claimed %s by a runner that went away)", action.id,
                                action.claimed_at)
                    done.append(await self._run(action, took_over=True))
            for action_id in await self.actions.due(now):
                action = await self.actions.claim(action_id, self.holder, self._clock())
                if action is not None:  # else another runner (or a cancel) got there first
                    done.append(await self._run(action, took_over=False))
            await self._tell()
            return done

    async def _run(self, action: ScheduledAction, *, took_over: bool) -> RunReport:
        try:
            report = await self.service.run(action, took_over=took_over)
        except Exception as error:  # a bug or the store: say so once rather than retry something half known
            log.exception("schedule: running %s failed", action.id)
            report = base_report(action, self._clock(), RunResult.ERROR,
                                 reason=f"the bot failed while running it ({type(error).__name__}); check the "
                                        "campaign's status before doing it by hand", took_over=took_over)
        late = f", {report.late_by.total_seconds():.0f} s late" if report.late else ""
        log.info("schedule: ran %s (%s of %s): %s%s", action.id, action.op, action.campaign_id, report.result, late)
        if not await self.actions.finish(action.id, self.holder, self._clock(), report.result.value,
                                         report.to_dict()):
            log.warning("schedule: %s was taken over while it ran here; its outcome is left to the other runner",
                        action.id)
        return report

    async def _tell(self) -> None:
        """Tell every outcome not told yet (in batches); one that fails waits for a later poll."""
        tried: set[str] = set()
        for _ in range(MAX_TELL_BATCHES):
            batch = [action for action in await self.actions.unreported(self.holder, self._clock())
                     if action.id not in tried]
            if not batch:
                return
            tried.update(action.id for action in batch)
            await self._tell_batch(batch)

    async def _tell_batch(self, batch: list[ScheduledAction]) -> None:
        now = self._clock()
        for action in batch:
            if action.report is None:
                continue
            try:
                report = RunReport.from_dict(action.report)
            except (KeyError, TypeError, ValueError):
                log.error("schedule: the stored report of %s cannot be read; not posted", action.id)
                await self.actions.reported(action.id, now)
                continue
            try:
                await self._reporter.report(report)
            except Exception as error:
                if action.finished_at is not None and now - action.finished_at > REPORT_GIVE_UP:
                    log.error("schedule: giving up telling the channel about %s (%s)", action.id, error)
                    await self.actions.reported(action.id, now)
                else:
                    log.warning("schedule: could not tell the channel about %s (%s); trying again later", action.id,
                                type(error).__name__)
                continue
            await self.actions.reported(action.id, self._clock())
            if self.on_reported is not None:
                self.on_reported()

    # The job on the bot's event loop -------------------------------------------------------------------------

    def start(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.add_job(self._tick, "interval", seconds=self.poll_seconds, id="schedule", max_instances=1,
                                coalesce=True, misfire_grace_time=max(int(self.poll_seconds), 1),
                                next_run_time=datetime.now(UTC))
        self._scheduler.start()
        log.info("schedule: running due actions every %g s", self.poll_seconds)

    async def _tick(self) -> None:
        self._running = asyncio.current_task()
        try:
            await self.poll()
        except asyncio.CancelledError:
            log.info("schedule: stopped at shutdown; what was claimed and not finished is taken over later")
        except Exception:  # the store is down, say: the next poll tries again
            log.exception("schedule: the poll failed; trying again in %g s", self.poll_seconds)
        finally:
            self._running = None

    async def stop(self, grace: float = STOP_GRACE) -> None:
        await stop_job(self._scheduler, [self._running], grace)
