"""What the Home tab shows, gathered without Slack: each source answers on its own, so one that fails (a vendor
down, the store slow) costs only its own section.

Reading the Home tab is not an action: nothing here writes to the audit log, so opening it does not push the person's
own actions out of "your last actions".
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import func, select

from bot.access.explain import Standing, explain
from bot.access.policy import AccessControl
from bot.approvals.requests import ApprovalRequest
from bot.approvals.service import ApprovalService
from bot.audit.log import AuditEntry, AuditLog
from bot.campaigns.plan import Activity, activity
from bot.campaigns.service import CampaignService
from bot.schedule.actions import ScheduledAction
from bot.schedule.service import ScheduleService
from bot.store.engine import Store
from bot.store.tables import AlertItem
from bot.vendors.comm import CommClient

T = TypeVar("T")
SOURCE_SECONDS = 5.0  # a source slower than this is shown as not answering; the rest of the tab does not wait
PAUSED = frozenset({Activity.PAUSED, Activity.PARTLY_PAUSED})


class NotConfigured(Exception):
    """The source is off in this bot's settings (no Comm, no alert channel): its section says so."""


@dataclass(frozen=True)
class Listing(Generic[T]):
    """The first ``shown`` items of ``total``."""

    items: tuple[T, ...]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.items)


@dataclass(frozen=True)
class PausedCampaign:
    id: str
    name: str
    activity: Activity
    paused_by: str | None = None  # Slack user id of the last pause through the bot (audit log), if any
    paused_at: datetime | None = None


@dataclass(frozen=True)
class AlertRun:
    """The latest digest posted: when, where (the Slack post), how many items it showed; and what waits now."""

    at: datetime | None
    channel: str | None
    ts: str | None
    posted: int
    pending: int


class HomeSources:
    def __init__(self, *, access: AccessControl, audit: AuditLog, store: Store, comm: CommClient | None,
                 campaigns: CampaignService | None, schedule: ScheduleService | None, alert_channel: str | None,
                 approvals: ApprovalService | None = None, timeout: float = SOURCE_SECONDS) -> None:
        self.access = access
        self._audit = audit
        self._store = store
        self._comm = comm
        self._campaigns = campaigns
        self._schedule = schedule
        self._alert_channel = alert_channel
        self._approvals = approvals
        self._timeout = timeout

    async def bounded(self, work: Callable[[], Awaitable[T]]) -> T:
        """``work()``, or TimeoutError after the source's time."""
        return await asyncio.wait_for(work(), self._timeout)

    async def standings(self, user_id: str) -> list[Standing]:
        """Every action for the user, judged outside channels (a grant limited to channels says where)."""
        return await explain(self.access, user_id, None)

    async def approval_from(self, action: str) -> int | None:
        """When ``action`` waits for a second person's approval: None never, 0 always, else from that many ids."""
        return await self.access.approval_threshold(action)

    async def approvals(self, user_id: str, limit: int) -> Listing[ApprovalRequest] | None:
        """Requests waiting for ``user_id``'s decision, oldest first; None when the access policy makes them the
        approver of nothing (no two-person rule names them or a user group of theirs)."""
        if self._approvals is None or self.access.source is None:
            return None
        rules = (await self.access.source.current()).approvals
        groups = {group for rule in rules for group in rule.approver_groups
                  if await self.access.in_any_group(user_id, [group])}
        if not groups and not any(user_id in rule.approvers for rule in rules):
            return None
        waiting = await self._approvals.pending_for(user_id, groups)
        return Listing(tuple(waiting[:limit]), len(waiting))

    async def scheduled(self, limit: int) -> Listing[ScheduledAction]:
        if self._schedule is None:
            raise NotConfigured("Comm is not configured, so nothing can be scheduled")
        pending = await self._schedule.pending()
        return Listing(tuple(pending[:limit]), len(pending))

    async def paused(self, limit: int) -> Listing[PausedCampaign]:
        """Campaigns paused (or partly) now, as Comm says, with the last pause through the bot (audit log)."""
        if self._comm is None or self._campaigns is None:
            raise NotConfigured("Comm is not configured")
        everything = await self._comm.list_campaigns()
        paused = sorted((c for c in everything if activity(c) in PAUSED), key=lambda c: c.name.casefold())
        shown: list[PausedCampaign] = []
        for campaign in paused[:limit]:
            change = await self._campaigns.last_change(campaign.id) if campaign.id else None
            by_bot = change is not None and change.op.value == "pause"
            shown.append(PausedCampaign(campaign.id, campaign.name, activity(campaign),
                                        change.user_id if by_bot and change else None,
                                        change.at if by_bot and change else None))
        return Listing(tuple(shown), len(paused))

    async def alert_run(self) -> AlertRun | None:
        """The latest digest posted (None: none yet) and the undelivered messages waiting to be posted."""
        if self._alert_channel is None:
            raise NotConfigured("alerts are off (ALERT_CHANNEL is not set)")
        async with self._store.session() as session:
            pending = (await session.execute(
                select(func.count()).select_from(AlertItem).where(AlertItem.state == "pending"))).scalar_one()
            latest = (await session.execute(
                select(AlertItem.digest_id, AlertItem.posted_at, AlertItem.slack_channel, AlertItem.slack_ts)
                .where(AlertItem.state == "posted", AlertItem.digest_id.is_not(None), AlertItem.in_thread.is_(False))
                .order_by(AlertItem.posted_at.desc()).limit(1))).first()
            if latest is None:
                return AlertRun(None, None, None, 0, int(pending)) if pending else None
            posted = (await session.execute(
                select(func.count()).select_from(AlertItem).where(AlertItem.digest_id == latest.digest_id)
            )).scalar_one()
        return AlertRun(latest.posted_at, latest.slack_channel, latest.slack_ts, int(posted), int(pending))

    async def recent(self, user_id: str, limit: int) -> list[AuditEntry]:
        """The user's last ``limit`` actions, newest first."""
        return list(reversed(await self._audit.query(users=[user_id], limit=limit)))

    async def everyone(self, limit: int) -> list[AuditEntry]:
        """Everyone's last ``limit`` actions, newest first (for holders of ``audit.read``)."""
        return list(reversed(await self._audit.query(limit=limit)))
