"""Pauses and resumes of Comm campaigns to do later: scheduling them, cancelling them, and running one when due.

Two ways in (both confirmed by a click first, handlers/campaign):
- ``pause <campaign> at <time>`` / ``resume <campaign> at <time>``: nothing changes now; the campaign is read again
  at the click, and the action is stored with the flags it had then (its *basis*, as a Pause button carries one).
- ``pause <campaign> for|until <time>``: the campaign is paused now (bot.campaigns, the click's own checks), and a
  resume is stored with the flags the pause left (read back from Comm) as its basis. Since the resume will run as
  the person who asked, they must hold ``campaign.resume`` too, and are told before anything is paused.

A run (:meth:`ScheduleService.run`) is the scheduler's: their grant is decided again (bot.access), then the same
GET, PUT, verify as a click, with the stored basis: a campaign that changed since it was scheduled (resumed by hand,
paused again, deleted) is left alone, and the report says why. Every step is audited under the action's own
campaign.pause or campaign.resume, with ``arguments.schedule`` = create, cancel or run; a run's rows carry the
action's id as their attempt id.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bot.access.policy import AccessControl, Decision
from bot.actor import Actor
from bot.audit.log import AuditLog, AuditOutcome
from bot.campaigns.plan import Basis, Op, flag_state, flags, plan
from bot.campaigns.service import CampaignService, ChangeStatus, LastChange, Notify, ToggleOutcome
from bot.schedule.actions import Origin, ScheduledAction, ScheduledActions, State
from bot.schedule.report import RunReport, RunResult, base_report, report_of
from bot.vendors.comm.models import Campaign
from bot.vendors.errors import VendorError

log = logging.getLogger("commops.schedule")


class Scheduled(enum.StrEnum):
    SCHEDULED = "scheduled"
    SAME_CLICK = "same_click"  # this very button was clicked before: the action it made is returned
    STALE = "stale"  # the campaign changed since the preview: nothing scheduled, the person decides again
    REFUSED = "refused"  # the time has passed, nothing to do, not pausable, or a grant is missing
    FAILED = "failed"  # Comm could not be read
    NOT_PAUSED = "not_paused"  # pause … for|until: the pause itself did not take effect, so no resume was stored


@dataclass(frozen=True)
class ScheduleRequest:
    """What a confirm button carries: the campaign, the action and its time, what the preview showed (``basis``),
    the time zone the time was read in, and a key that is the same for every click on that button."""

    campaign_id: str
    op: Op  # what runs later
    origin: Origin
    due_at: datetime
    basis: Basis
    zone: str | None
    request_key: str


@dataclass(frozen=True)
class ScheduleOutcome:
    status: Scheduled
    request: ScheduleRequest
    at: datetime
    action: ScheduledAction | None = None
    campaign: Campaign | None = None
    toggle: ToggleOutcome | None = None  # pause … for|until: the pause done now
    reason: str | None = None
    last_change: LastChange | None = None
    pending: tuple[ScheduledAction, ...] = ()  # other actions pending for the same campaign


class Cancelled(enum.StrEnum):
    CANCELLED = "cancelled"
    GONE = "gone"  # no longer pending: it ran, is running, or was cancelled
    UNKNOWN = "unknown"  # no such action, or the button is not for this kind of action


@dataclass(frozen=True)
class CancelOutcome:
    status: Cancelled
    action: ScheduledAction | None
    actor: Actor
    at: datetime


def new_action_id() -> str:
    return uuid.uuid4().hex  # 32 characters: also the attempt id of the run's audit rows


class ScheduleService:
    def __init__(self, actions: ScheduledActions, campaigns: CampaignService, access: AccessControl,
                 audit: AuditLog, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.actions = actions
        self._campaigns = campaigns
        self._access = access
        self._audit = audit
        self._clock = clock

    @property
    def clock(self) -> Callable[[], datetime]:
        return self._clock

    async def may(self, action: str, actor: Actor) -> Decision:
        return await self._access.decide(action, actor.user_id, actor.channel_id)

    async def pending(self, campaign_id: str | None = None) -> list[ScheduledAction]:
        return await self.actions.pending(campaign_id)

    # Scheduling ---------------------------------------------------------------------------------------------

    async def schedule(self, request: ScheduleRequest, actor: Actor, *, attempt_id: str | None = None,
                       notify: Notify | None = None) -> ScheduleOutcome:
        """Store the action the confirmed preview showed, after the checks above; see :class:`Scheduled`."""
        now = self._clock()
        start = ScheduleOutcome(Scheduled.REFUSED, request, now)
        outcome = await self._schedule(start, request, actor, attempt_id, notify)
        if outcome.status is Scheduled.SAME_CLICK:
            return outcome
        pending = tuple(other for other in await self.actions.pending(request.campaign_id)
                        if outcome.action is None or other.id != outcome.action.id)
        outcome = _with(outcome, pending=pending)
        await self._audit_schedule(outcome, actor, attempt_id)
        return outcome

    async def _schedule(self, start: ScheduleOutcome, request: ScheduleRequest, actor: Actor,
                        attempt_id: str | None, notify: Notify | None) -> ScheduleOutcome:
        now = start.at
        earlier = await self.actions.by_request(request.request_key)
        if earlier is not None:
            return _with(start, status=Scheduled.SAME_CLICK, action=earlier)
        if request.due_at <= now:
            return _with(start, reason="its time has come since the preview; run the command again")
        if request.origin is Origin.AFTER_PAUSE:
            decision = await self.may("campaign.resume", actor)
            if not decision.allowed:
                return _with(start, reason="it would resume by itself as you, and you may not resume campaigns "
                                           f"here ({decision.detail}); pause it without a time instead")
            return await self._pause_then_schedule(start, request, actor, attempt_id, notify)
        try:
            current = await self._campaigns.find(request.campaign_id)
        except VendorError as error:
            return _with(start, status=Scheduled.FAILED, reason=error.sentence)
        start = _with(start, campaign=current)
        last = await self._campaigns.last_change(request.campaign_id)
        if flag_state(current) != request.basis.state or (last is not None and last.at > request.basis.read_at):
            return _with(start, status=Scheduled.STALE, last_change=last)
        planned = plan(current, request.op)
        if not planned.pausable:
            return _with(start, reason="it has no flag the bot can pause or resume")
        if planned.nothing_to_do:
            return _with(start, reason=f"it is already {request.op.past}, so there is nothing to do later")
        return await self._store(start, request, actor, current, Basis(flag_state(current), self._clock()))

    async def _pause_then_schedule(self, start: ScheduleOutcome, request: ScheduleRequest, actor: Actor,
                                   attempt_id: str | None, notify: Notify | None) -> ScheduleOutcome:
        paused = await self._campaigns.toggle(request.campaign_id, Op.PAUSE, actor, notify=notify,
                                              attempt_id=attempt_id, basis=request.basis)
        start = _with(start, toggle=paused, campaign=paused.campaign)
        if paused.outcome is ChangeStatus.CHANGED and paused.campaign is not None:
            expected = flag_state(paused.campaign)  # as read back from Comm
        elif paused.outcome is ChangeStatus.UNVERIFIED and paused.campaign is not None:
            expected = tuple(False for _ in flags(paused.campaign))  # as saved; the read-back failed
        else:
            return _with(start, status=Scheduled.NOT_PAUSED)
        assert paused.campaign is not None
        try:
            return await self._store(start, request, actor, paused.campaign, Basis(expected, paused.settled_at))
        except Exception as error:  # paused, and the resume could not be stored: the person must know at once
            log.exception("the resume after pausing %s could not be stored", request.campaign_id)
            return _with(start, status=Scheduled.FAILED,
                         reason=f"the campaign is paused, but its resume could not be scheduled "
                                f"({type(error).__name__}): resume it by hand when it is time")

    async def _store(self, start: ScheduleOutcome, request: ScheduleRequest, actor: Actor, campaign: Campaign,
                     basis: Basis) -> ScheduleOutcome:
        action = ScheduledAction(
            id=new_action_id(), campaign_id=request.campaign_id, campaign_name=campaign.name or request.campaign_id,
            op=request.op, origin=request.origin, due_at=request.due_at, state=State.PENDING, basis=basis,
            scheduler=actor, zone=request.zone, created_at=self._clock(),
        )
        stored = await self.actions.add(action, request.request_key)
        if stored is None:  # the same click, a moment ago, on another replica
            return _with(start, status=Scheduled.SAME_CLICK, action=await self.actions.by_request(request.request_key))
        log.info("scheduled %s of %s at %s by %s (%s)", action.op, action.campaign_id, action.due_at.isoformat(),
                 actor.user_id, action.id)
        return _with(start, status=Scheduled.SCHEDULED, action=stored)

    async def _audit_schedule(self, outcome: ScheduleOutcome, actor: Actor, attempt_id: str | None) -> None:
        request = outcome.request
        arguments: dict[str, Any] = {"schedule": "create", "origin": request.origin.value,
                                     "due": request.due_at.isoformat(), "zone": request.zone,
                                     "scheduled": outcome.status.value}
        if outcome.action is not None:
            arguments["id"] = outcome.action.id
        if outcome.status is Scheduled.NOT_PAUSED:
            return  # the pause's own row says what happened; nothing was scheduled
        kind = {Scheduled.SCHEDULED: AuditOutcome.OK, Scheduled.FAILED: AuditOutcome.VENDOR_ERROR}.get(
            outcome.status, AuditOutcome.INVALID)
        await self._audit.record(f"campaign.{request.op.value}", kind, actor, arguments=arguments,
                                 campaign_id=request.campaign_id, error=outcome.reason,
                                 error_code="stale" if outcome.status is Scheduled.STALE else None,
                                 attempt_id=attempt_id)

    # Cancelling ---------------------------------------------------------------------------------------------

    async def cancel(self, action_id: str, op: Op, actor: Actor, *, attempt_id: str | None = None) -> CancelOutcome:
        """Cancel a pending action. ``op`` is what the Cancel button says it cancels (and what the access check
        judged the clicker for): a button claiming another kind of action is refused."""
        now = self._clock()
        action = await self.actions.get(action_id)
        if action is None or action.op is not op:
            status, found = Cancelled.UNKNOWN, None
        elif await self.actions.cancel(action_id, actor.user_id, now):
            status, found = Cancelled.CANCELLED, await self.actions.get(action_id)
        else:
            status, found = Cancelled.GONE, await self.actions.get(action_id)
        arguments: dict[str, Any] = {"schedule": "cancel", "id": action_id, "cancelled": status.value}
        if found is not None:
            arguments.update(due=found.due_at.isoformat(), origin=found.origin.value, state=found.state.value)
        await self._audit.record(f"campaign.{op.value}", AuditOutcome.OK if status is Cancelled.CANCELLED
                                 else AuditOutcome.INVALID, actor, arguments=arguments,
                                 campaign_id=found.campaign_id if found is not None else None,
                                 error=None if status is Cancelled.CANCELLED else f"not cancelled: {status.value}",
                                 attempt_id=attempt_id)
        return CancelOutcome(status, found, actor, now)

    # Running ------------------------------------------------------------------------------------------------

    async def run(self, action: ScheduledAction, *, took_over: bool = False) -> RunReport:
        """Do a claimed action now, as its scheduler, with its basis; the report of what happened."""
        now = self._clock()
        note = {"schedule": "run", "id": action.id, "due": action.due_at.isoformat(),
                "late_seconds": round(max((now - action.due_at).total_seconds(), 0)), "took_over": took_over}
        action_name = f"campaign.{action.op.value}"
        decision = await self.may(action_name, action.scheduler)
        if not decision.allowed:
            await self._audit.record(action_name, AuditOutcome.DENIED, action.scheduler, arguments=note,
                                     campaign_id=action.campaign_id, error_code=decision.reason,
                                     error=f"at run time: {decision.detail}", attempt_id=action.id)
            return base_report(action, now, RunResult.DENIED, reason=decision.detail, took_over=took_over)
        outcome = await self._campaigns.toggle(action.campaign_id, action.op, action.scheduler, attempt_id=action.id,
                                               basis=action.basis, note=note)
        return report_of(action, outcome, now, took_over=took_over)


def _with(outcome: ScheduleOutcome, **changes: Any) -> ScheduleOutcome:
    return replace(outcome, **changes)
