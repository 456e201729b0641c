"""The alert job: poll the watch-list, queue what is new, post one digest per run; and its scheduler.

Polling goes through the Capillary client, so every call passes its sliding-window rate limiter and reads are
retried with backoff (429 and 503 also make the limiter hold everyone back); a bounded pool of workers keeps
memory flat however long the watch-list is. A customer whose lookup still fails is simply polled again next
run: the watch-list is polled whole every run, and nothing about that customer was written.

Posting follows the outbox protocol of bot/alerts/outbox.py, through a DigestPoster (bot/alerts/posting.py; the
Slack one is handlers/alerts/poster.py). Posts are paced at one a second per channel (Slack's own rule for
chat.postMessage); the poster's Web API client retries Slack's 429s.

Replicas sharing one store take turns: a run first takes the ``alerts`` lease (bot/store/leases.py) and skips quietly
when another replica holds it. The lease is short (LEASE_TTL): a heartbeat renews it every third of that while the run
lasts, and the holder renews it once more right before every post, stopping as soon as it finds the lease lost (it
stalled past the lease's expiry and another replica took over); it releases the lease at the end of the run. A
replica whose run was skipped looks again when the holder's lease is due to end, and takes over only if the holder
let it expire without releasing it (it crashed mid-run): so a crashed holder, or a restarted bot's own previous
incarnation, holds the alerts up for one lease time at most, whatever ALERT_INTERVAL_SECONDS is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from bot.alerts.domain import Candidate, Digest, normalise_status, undelivered_messages, undelivered_statuses
from bot.alerts.outbox import Outbox
from bot.alerts.posting import DigestPoster, PostRefused
from bot.alerts.watchlist import Customer, CustomerList, Customers, WatchlistFile
from bot.background import stop_job
from bot.observability.metrics import observe_alert_cycle
from bot.settings import Settings, SettingsError
from bot.store.engine import Store
from bot.store.leases import Heartbeat, Lease, holder_id
from bot.vendors.capillary import CapillaryClient
from bot.vendors.capillary.errors import CUSTOMER_NOT_FOUND
from bot.vendors.errors import NotFound, VendorError
from bot.work import Lane, Turns

log = logging.getLogger("commops.alerts")

CONCURRENCY = 16  # lookups in flight; the rate limiter, not this, sets the pace
ENQUEUE_BATCH = 500  # undelivered messages queued in the outbox at a time, as the poll goes
POST_INTERVAL = 1.0  # seconds between posts to one channel
STOP_GRACE = 2.0  # seconds a run in progress may take to finish at shutdown (cancelling it loses nothing)
LEASE = "alerts"  # the lease a run holds (bot/store/leases.py): one replica runs the job at a time
LEASE_TTL = timedelta(seconds=30)  # how long a crashed holder holds the alerts up, at most
HEARTBEATS_PER_TTL = 3  # renewals per lease time while a run lasts: two may fail before the lease is at risk
LEASE_LOST = "another replica took the alert lease over"


@dataclass
class PollResult:
    """What a poll found, in memory that does not grow with the watch-list: customers are counted; only those newly
    found missing, and known missing ones that Capillary knows again, are named. What is undelivered went into the
    outbox as the poll went (``new``: how many for the first time)."""

    polled: int = 0
    failed: int = 0
    new: int = 0
    missing: list[str] = field(default_factory=list)
    found_again: list[str] = field(default_factory=list)


@dataclass
class CycleReport:
    customers: int = 0
    failed: int = 0
    missing: int = 0
    new: int = 0  # messages queued for the first time this run
    posted: int = 0  # items that reached Slack this run (new ones and ones left pending before)
    posts: int = 0
    error: str | None = None  # why posting stopped; what was not posted stays pending
    skipped: bool = False  # another replica holds the lease and runs the job (or there was nothing to take over)
    held_until: datetime | None = None  # skipped: when the holder's lease ends unless renewed (None: no holder)

    def summary(self) -> str:
        if self.skipped:
            return "skipped: another replica holds the alert lease"
        text = (f"{self.customers} customers polled ({self.failed} failed, {self.missing} not found), {self.new} new "
                f"undelivered messages, {self.posted} alerted in {self.posts} Slack posts")
        return text + (f"; posting stopped: {self.error}" if self.error else "")


class AlertJob:
    def __init__(
        self,
        *,
        capillary: CapillaryClient,
        store: Store,
        poster: DigestPoster,
        channel: str,
        watchlist: Sequence[Customer] | Customers,
        statuses: Sequence[str],
        zone: Any,
        lookback: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        concurrency: int = CONCURRENCY,
        turns: Turns | None = None,
        post_interval: float = POST_INTERVAL,
        on_posted: Callable[[], Any] | None = None,
        lease_ttl: timedelta = LEASE_TTL,
        heartbeat: float | None = None,
        holder: str | None = None,
    ) -> None:
        """``heartbeat``: seconds between the lease's renewals while a run lasts (default: a third of ``lease_ttl``).
        ``holder``: the lease holder's id; by default a new one, unique to this job."""
        self.outbox = Outbox(store)
        self.lease = Lease(store, LEASE, holder or holder_id(), lease_ttl, clock)
        self.heartbeat_every = heartbeat or lease_ttl.total_seconds() / HEARTBEATS_PER_TTL
        self.heartbeat: Heartbeat | None = None  # the running cycle's, while there is one
        self._busy = asyncio.Lock()  # one run at a time in this process, whichever schedule started it
        self._capillary = capillary
        self._poster = poster
        self.channel = channel
        self.watchlist: Customers = CustomerList(watchlist) if isinstance(watchlist, Sequence) else watchlist
        self._statuses = undelivered_statuses(statuses)
        self._zone = zone
        self._lookback = lookback
        self.clock = clock
        self._concurrency = concurrency
        self._turns = turns
        self._post_interval = post_interval
        self._last_post = float("-inf")
        self.on_posted = on_posted  # the shell redraws when a digest lands

    # Polling --------------------------------------------------------------------------------------------------

    async def poll(self, now: datetime, keep: Callable[[], bool] | None = None) -> PollResult:
        """Poll the watch-list, queueing what is undelivered as it goes; ``keep`` is asked before each lookup and
        stops the poll when it answers False. The customers are streamed to a fixed number of workers."""
        result = PollResult()
        known_missing = await self.outbox.missing_known()
        found: list[Candidate] = []
        customers: asyncio.Queue[Customer | None] = asyncio.Queue(maxsize=2 * self._concurrency)

        async def feed() -> None:
            async for customer in self.watchlist.stream():
                await customers.put(customer)
            for _ in range(self._concurrency):
                await customers.put(None)  # each worker's last

        async def worker() -> None:
            stopped = False
            while (customer := await customers.get()) is not None:
                if stopped or (keep is not None and not keep()):
                    stopped = True  # drain the queue so the feeder ends
                    continue
                result.polled += 1
                found.extend(await self._poll_one(customer, now, result, known_missing))
                if len(found) >= ENQUEUE_BATCH:
                    batch, found[:] = list(found), []
                    result.new += await self.outbox.enqueue(batch, now)

        tasks = [asyncio.create_task(feed()), *(asyncio.create_task(worker()) for _ in range(self._concurrency))]
        try:
            await asyncio.gather(*tasks)
        finally:  # a failure (or a cancelled run) stops them all
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if found:
            result.new += await self.outbox.enqueue(found, now)
        return result

    async def _poll_one(self, customer: Customer, now: datetime, result: PollResult,
                        known_missing: frozenset[str]) -> list[Candidate]:
        key = str(customer)
        try:
            async with self._turn():
                found = await self._capillary.customer_messages(customer.name, customer.value, keep=self._counts)
        except NotFound as error:
            if error.code == CUSTOMER_NOT_FOUND:
                result.missing.append(key)
            else:
                result.failed += 1
            return []
        except VendorError as error:
            log.warning("alerts: could not check %s (%s); it is checked again next run", key, error.kind)
            result.failed += 1
            return []
        if key in known_missing:
            result.found_again.append(key)
        return undelivered_messages(found, key, statuses=self._statuses, zone=self._zone, now=now,
                                    lookback=self._lookback)

    def _counts(self, status: str) -> bool:
        """Whether a message with this status is undelivered (only those are read in full)."""
        return normalise_status(status) in self._statuses

    def _turn(self) -> contextlib.AbstractAsyncContextManager[None]:
        """A background turn of the bot's vendor workers (people's calls go first), when the job has them."""
        return self._turns.turn(Lane.BACKGROUND) if self._turns is not None else contextlib.nullcontext()

    # One run --------------------------------------------------------------------------------------------------

    async def run_once(self, *, takeover: bool = False) -> CycleReport:
        """One run, if this replica gets the lease; otherwise a report that says it was skipped, and until when the
        holder's lease runs. ``takeover``: run only if the last holder let its lease expire without releasing it
        (it crashed mid-run), never merely because the lease is free."""
        skipped = CycleReport(customers=len(self.watchlist), skipped=True)
        if self._busy.locked():  # this process runs the job already (the scheduled run and a takeover check met)
            return skipped
        async with self._busy:
            if not await (self.lease.take_over() if takeover else self.lease.acquire()):
                skipped.held_until = await self.lease.expiry()
                log.debug("alerts: the alert lease is held until %s; run skipped", skipped.held_until)
                return skipped
            if takeover:
                log.warning("alerts: took the alert lease over from a replica that stopped mid-run")
            unfinished = True  # until the run ends, well or with an error (the next scheduled run starts over then)
            try:
                async with Heartbeat(self.lease, self.heartbeat_every) as heartbeat:
                    self.heartbeat = heartbeat
                    report = await self._run()
                unfinished = False
                return report
            except Exception:
                unfinished = False
                raise
            finally:
                self.heartbeat = None
                await self._let_go(unfinished)

    async def _let_go(self, unfinished: bool) -> None:
        """Release the lease; a run stopped midway (shutdown) leaves it expired instead, so a replica waiting for it
        takes the run over as it would after a crash, rather than at its next scheduled run."""
        try:
            await asyncio.shield(self.lease.expire() if unfinished else self.lease.release())
        except Exception:  # it expires by itself; a waiting replica takes it over then
            log.warning("alerts: could not release the alert lease", exc_info=True)

    async def _run(self) -> CycleReport:
        """A cycle, observed in the metrics (its duration, what it left pending) unless it was cancelled."""
        started = time.perf_counter()
        try:
            report = await self._cycle()
        except Exception:
            observe_alert_cycle(time.perf_counter() - started, await self._pending())
            raise
        observe_alert_cycle(time.perf_counter() - started, await self._pending())
        return report

    async def _pending(self) -> int | None:
        try:
            return await self.outbox.pending_count()
        except Exception:  # the store is failing too: the cycle's own error says so; the gauge keeps its value
            log.warning("alerts: could not count the pending alerts", exc_info=True)
            return None

    async def _cycle(self) -> CycleReport:
        now = self.clock()
        heartbeat = self.heartbeat
        polled = await self.poll(now, None if heartbeat is None else lambda: heartbeat.held)
        report = CycleReport(customers=polled.polled, failed=polled.failed, missing=len(polled.missing),
                             new=polled.new)
        await self.outbox.forget_missing(polled.found_again)
        await self.outbox.remember_missing(polled.missing, now)
        await self.post_pending(report, unchecked=polled.failed)
        log.info("alerts: %s", report.summary())
        return report

    async def post_pending(self, report: CycleReport, *, unchecked: int = 0) -> None:
        """Post every pending item (and customers newly found missing) as one digest; nothing pending, no post.
        Only while this job holds the lease: the items are claimed under it, and it is renewed before each post."""
        if not await self._still_held(report):
            return
        digest = Digest(uuid.uuid4().hex, await self.outbox.claim(self.lease), await self.outbox.missing_unreported(),
                        unchecked)
        if digest.empty:
            return
        root = await self._post(report, partial(self._poster.post_digest, self.channel, digest))
        if root is None:
            return
        now = self.clock()
        await self.outbox.mark_posted([item.message_id for item in digest.shown], digest_id=digest.digest_id,
                                      channel=self.channel, ts=root, in_thread=False, now=now,
                                      holder=self.lease.holder)
        await self.outbox.mark_reported(digest.missing_customers, now)
        report.posted += len(digest.shown)
        self._posted()
        for items in self._poster.thread_replies(digest.rest):
            ts = await self._post(report, partial(self._poster.post_reply, self.channel, root, items))
            if ts is None:
                return  # the rest stay pending and open the next run's digest
            message_ids = [item.message_id for item in items]
            await self.outbox.mark_posted(message_ids, digest_id=digest.digest_id, channel=self.channel, ts=ts,
                                          in_thread=True, now=self.clock(), holder=self.lease.holder)
            report.posted += len(message_ids)
            self._posted()

    async def _still_held(self, report: CycleReport) -> bool:
        """Renew the lease in the store (not only trusting the heartbeat: the loop may have been blocked past the
        lease's end): False, and posting stops, once another replica has it."""
        if (self.heartbeat is None or self.heartbeat.held) and await self.lease.renew():
            return True
        report.error = LEASE_LOST
        log.warning("alerts: %s; this replica stops posting and leaves the rest to it", LEASE_LOST)
        return False

    async def _post(self, report: CycleReport, post: Callable[[], Awaitable[str]]) -> str | None:
        wait = self._last_post + self._post_interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        if not await self._still_held(report):  # right before the call: a holder that stalled posts nothing
            return None
        try:
            ts = await post()
        except PostRefused as error:
            report.error = f"Slack answered {error.code or 'an error'}"
        except Exception as error:  # a network failure: same outcome, the items stay pending
            report.error = f"{type(error).__name__} while posting to Slack"
        else:
            report.posts += 1
            return ts
        finally:
            self._last_post = time.monotonic()
        log.warning("alerts: %s; the unposted alerts stay queued for the next run", report.error)
        return None

    def _posted(self) -> None:
        if self.on_posted is not None:
            try:
                self.on_posted()
            except Exception:  # a display hook must never cost an alert
                log.exception("alerts: the on_posted hook failed")


class AlertScheduler:
    """Runs the job on the bot's event loop every ``interval`` seconds: never two runs at once (max_instances=1),
    runs missed while one was in progress coalesced into one, and the first run right at start.

    A run skipped because another replica holds the lease is followed by a takeover check when that lease is due to
    end: if its holder let it expire (it crashed mid-run) this replica takes over and runs the job at once; if the
    holder is still renewing it, the check is made again at the new end; if it was released, nothing is needed."""

    def __init__(self, job: AlertJob, interval: float) -> None:
        self.job = job
        self._interval = interval
        from apscheduler.schedulers.asyncio import AsyncIOScheduler  # loaded only when alerts are on

        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._running: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        self._scheduler.add_job(
            self._tick, "interval", seconds=self._interval, id="alerts", max_instances=1, coalesce=True,
            misfire_grace_time=max(int(self._interval), 1), next_run_time=datetime.now(UTC),
        )
        logging.getLogger("apscheduler.scheduler").addFilter(_quiet_skips)
        self._scheduler.start()
        log.info("alerts: every %g s into %s, watching %d customers", self._interval, self.job.channel,
                 len(self.job.watchlist))

    async def _tick(self, takeover: bool = False) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            report = await self.job.run_once(takeover=takeover)
            if report.skipped and report.held_until is not None:
                self._check_takeover(report.held_until)
        except asyncio.CancelledError:  # stop() at shutdown: only this scheduler's own task is ever cancelled
            log.info("alerts: the run was stopped at shutdown; what was not posted stays queued")
        except Exception:  # the scheduler would only log it too; the next run starts from the outbox again
            log.exception("alerts: the run failed; pending alerts are retried next run")
        finally:
            self._running.discard(task)

    def _check_takeover(self, held_until: datetime) -> None:
        """Look at the lease again just after ``held_until`` (by this replica's clock; at most one lease time on)."""
        ttl = self.job.lease.ttl.total_seconds()
        margin = min(1.0, ttl / 10)
        delay = min(max((held_until - self.job.clock()).total_seconds(), 0.0), ttl) + margin
        if self._scheduler.running:
            self._scheduler.add_job(
                self._tick, "date", run_date=datetime.now(UTC) + timedelta(seconds=delay), kwargs={"takeover": True},
                id="alerts-takeover", replace_existing=True, misfire_grace_time=None,
            )

    async def stop(self, grace: float = STOP_GRACE) -> None:
        # Cancelling is safe: whatever was not marked posted stays pending for the next start.
        await stop_job(self._scheduler, self._running, grace)


def _quiet_skips(record: logging.LogRecord) -> bool:
    """A run still going when the next is due is skipped by design (max_instances=1): not worth a warning."""
    return "maximum number of running instances" not in record.getMessage()


def load_job_watchlist(settings: Settings) -> Customers:
    """ALERT_WATCHLIST, checked once at start (its bad lines reported there, once); the job reads it on every run."""
    if settings.alert_watchlist is None:
        return CustomerList(())
    watchlist = WatchlistFile(settings.alert_watchlist)
    try:
        problems = watchlist.check()
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"ALERT_WATCHLIST cannot be read: {settings.alert_watchlist} "
                            f"({getattr(error, 'strerror', None) or type(error).__name__})") from None
    for problem in problems[:50]:
        log.warning("ALERT_WATCHLIST %s %s: skipped", settings.alert_watchlist, problem)
    if len(problems) > 50:
        log.warning("ALERT_WATCHLIST: %d more bad lines skipped", len(problems) - 50)
    return watchlist


def build_alert_job(settings: Settings, *, capillary: CapillaryClient, store: Store, poster: DigestPoster,
                    clock: Callable[[], datetime] = lambda: datetime.now(UTC), **kwargs: Any) -> AlertJob | None:
    """The job ALERT_* describe, or None (and a log line saying so) when ALERT_CHANNEL is unset."""
    if settings.alert_channel is None:
        log.info("alerts are off: ALERT_CHANNEL is not set")
        return None
    watchlist = load_job_watchlist(settings)
    if not len(watchlist):
        log.warning("alerts: the watch-list is empty (ALERT_WATCHLIST %s); only imported alerts are posted",
                    settings.alert_watchlist or "is not set")
    return AlertJob(
        capillary=capillary, store=store, poster=poster, channel=settings.alert_channel,
        watchlist=watchlist, statuses=settings.alert_statuses, zone=settings.tz,
        lookback=timedelta(hours=settings.alert_lookback_hours), clock=clock, **kwargs,
    )
