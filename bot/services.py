"""Everything a handler may use, built once at start and closed once at exit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.access.policy import AccessControl, build_access
from bot.access.replays import SeenRequests
from bot.audit.log import AuditLog
from bot.background import BackgroundWork
from bot.campaigns.service import CampaignService
from bot.logs import known_secrets
from bot.resend.service import ResendService
from bot.schedule.actions import ScheduledActions
from bot.schedule.service import ScheduleService
from bot.settings import Settings
from bot.store.engine import Store
from bot.store.rate_slices import StoreLedger
from bot.store.schema import prepare
from bot.target_comms.service import TargetCommsService
from bot.vendors.capillary import CapillaryClient
from bot.vendors.comm import CommClient
from bot.work import Budget, Turns

log = logging.getLogger("commops.store")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    store: Store
    capillary: CapillaryClient
    resend: ResendService
    access: AccessControl
    audit: AuditLog
    seen_requests: SeenRequests  # signed requests already received: the replay guard (handlers/middleware/replay.py)
    clock: Callable[[], datetime] = field(default=utc_now)
    comm: CommClient | None = None  # None when COMM_API_TOKEN is unset: /campaign then says so
    campaigns: CampaignService | None = None
    background: BackgroundWork = field(default_factory=BackgroundWork)  # work still running after its ack
    target_comms: TargetCommsService | None = None  # /comm upsert; build_services always sets it
    schedule: ScheduleService | None = None  # scheduled pauses and resumes; None when Comm is not configured
    turns: Turns = field(default_factory=Turns)  # the vendor workers, shared fairly (bot/work/turns.py)
    budget: Budget = field(default_factory=Budget)  # the bound on vendor work accepted (bot/work/budget.py)

    async def aclose(self) -> None:
        await self.capillary.aclose()
        if self.comm is not None:
            await self.comm.aclose()
        await self.store.close()


async def build_services(settings: Settings, *, clock: Callable[[], datetime] = utc_now,
                         local_user: str | None = None) -> Services:
    """Connect the store and the vendor clients described by ``settings``.

    The store's schema is brought to the code's head first (DB_AUTO_UPGRADE, the default), or checked to be there
    (bot.store.schema.SchemaError otherwise). ``local_user`` (``commops shell``) may do everything when no
    ACCESS_POLICY is set.
    """
    access = build_access(settings.access_policy, local_user=local_user)  # a bad policy stops the start here
    store = Store(settings.database_url)
    try:
        upgraded = await prepare(store, auto_upgrade=settings.db_auto_upgrade)
    except BaseException:
        await store.close()
        raise
    if upgraded is not None and upgraded.changed:
        log.info("database: %s", upgraded.describe())
    # The rate limit's send times are taken from the store, so replicas sharing it share the limit.
    capillary = CapillaryClient.from_settings(settings, ledger=StoreLedger(store))
    audit = AuditLog(store, clock=clock, secrets=known_secrets(settings))
    comm = CommClient.from_settings(settings) if settings.comm_configured else None
    campaigns = CampaignService(comm, audit=audit, clock=clock) if comm is not None else None
    turns = Turns()

    def pace(one_user: bool) -> float:
        """Calls a second the bot gets through (for one user), for "try again in …": the rate limit's pace, or
        the workers' if they are the slower."""
        workers = turns.calls_per_second(one_user=one_user)
        limit = capillary.limiter.calls_per_second
        return min(workers, limit) if workers else limit

    return Services(
        settings=settings,
        store=store,
        capillary=capillary,
        resend=ResendService(capillary, store, audit=audit, clock=clock, turns=turns),
        access=access,
        audit=audit,
        seen_requests=SeenRequests(store, clock=clock),
        clock=clock,
        comm=comm,
        campaigns=campaigns,
        target_comms=TargetCommsService(capillary, audit=audit, zone=settings.tz),
        schedule=ScheduleService(ScheduledActions(store), campaigns, access, audit, clock=clock)
        if campaigns is not None else None,
        turns=turns,
        budget=Budget(settings.max_pending_calls, settings.max_pending_calls_per_user, rate=pace),
    )
