"""Comm SMS campaigns from Slack: find one by id or name, list them, pause, resume, stop a send.

Pausing is read-modify-write of the whole campaign (Comm has no pause endpoint): GET it, plan the flag
changes, PUT the whole object back with only those flags changed, GET it again and compare. Each step's
failure ends in an outcome that says exactly how far it got, so nothing half-done goes unreported: a save
whose answer was lost is followed by a fresh read to find out whether it took effect.

A click carries what its button was made against (:class:`bot.campaigns.plan.Basis`): the flags as its message
showed them and when they were read. If the first read shows other flags, or the audit log a pause or resume since,
the campaign changed after the button was made (someone resumed what the button would pause again): nothing is
saved, and the outcome says what changed and who changed it last, for the person to decide again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bot.actor import Actor
from bot.audit.log import AuditLog, AuditOutcome
from bot.campaigns.args import AmbiguousCampaign, NoSuchCampaign, is_uuid, matches_filter, pick
from bot.campaigns.plan import (
    Activity,
    Basis,
    Difference,
    FlagChange,
    Op,
    Plan,
    activity,
    applied,
    differences,
    flag_state,
    plan,
)
from bot.vendors.comm import CommClient
from bot.vendors.comm.models import Campaign, Json, SendStopped
from bot.vendors.errors import RateLimited, VendorError

log = logging.getLogger("commops.campaigns")

__all__ = [
    "AmbiguousCampaign",
    "CampaignList",
    "CampaignService",
    "ChangeStatus",
    "LastChange",
    "NoSuchCampaign",
    "StopOutcome",
    "ToggleOutcome",
]

Notify = Callable[[str], Awaitable[None]]


class ChangeStatus(enum.StrEnum):
    CHANGED = "changed"  # saved, and a fresh read shows exactly what was saved
    ALREADY = "already"  # the flags were already where the operation puts them: nothing sent
    NOT_PAUSABLE = "not_pausable"  # no flag to flip (a manual campaign): nothing sent
    CONFLICT = "conflict"  # saved, but the fresh read differs: someone or something changed it meanwhile
    UNVERIFIED = "unverified"  # saved, but the fresh read failed
    UNCERTAIN = "uncertain"  # the save may or may not have happened, and a fresh read could not tell
    FAILED = "failed"  # nothing was changed
    STALE = "stale"  # the campaign changed since the button was made: nothing sent; the person decides again


# The outcomes of a pause or resume that may have changed the campaign (the others sent nothing).
CHANGING = frozenset({ChangeStatus.CHANGED, ChangeStatus.CONFLICT, ChangeStatus.UNVERIFIED, ChangeStatus.UNCERTAIN})
TOGGLE_ACTIONS = ("campaign.pause", "campaign.resume")


@dataclass(frozen=True)
class LastChange:
    """The last pause or resume of a campaign through the bot (from the audit log)."""

    op: Op
    user_id: str
    user_name: str
    at: datetime
    result: ChangeStatus


@dataclass(frozen=True)
class ToggleOutcome:
    op: Op
    outcome: ChangeStatus
    campaign_id: str
    actor: Actor
    at: datetime
    campaign: Campaign | None = None  # the latest state known (the verifying read when there was one)
    changes: tuple[FlagChange, ...] = ()  # what was (or was to be) saved
    error: VendorError | None = None
    differences: tuple[Difference, ...] = ()  # where the verifying read differs from what was saved
    answer_lost: bool = False  # the save's answer never came; the outcome rests on a fresh read
    basis: Basis | None = None  # what the click's button was made against
    last_change: LastChange | None = None  # STALE: the last pause or resume through the bot
    known_at: datetime | None = None  # a button made from this outcome is made against the campaign as of then

    @property
    def settled_at(self) -> datetime:
        """When this outcome was on record: what a button built from it is made against."""
        return self.known_at or self.at

    @property
    def name(self) -> str:
        return self.campaign.name if self.campaign is not None else self.campaign_id


@dataclass(frozen=True)
class StopOutcome:
    campaign_id: str
    send_id: str
    actor: Actor
    at: datetime
    campaign: Campaign | None = None
    result: SendStopped | None = None
    error: VendorError | None = None

    @property
    def stopped(self) -> bool:
        return self.error is None

    @property
    def name(self) -> str:
        return self.campaign.name if self.campaign is not None else self.campaign_id


@dataclass(frozen=True)
class CampaignList:
    campaigns: list[Campaign]
    total: int  # before the filter

    @staticmethod
    def activity_of(campaign: Campaign) -> Activity:
        return activity(campaign)

    @property
    def not_fully_read(self) -> int:
        """How many of the listed campaigns the bot could not fully read (each carries its notes)."""
        return sum(1 for campaign in self.campaigns if not campaign.fully_read)


class CampaignService:
    """Every call that acts for a person writes one audit row (``attempt_id`` ties it to the Slack request)."""

    def __init__(self, comm: CommClient, *, audit: AuditLog, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 max_rate_limit_wait: float | None = None) -> None:
        self._comm = comm
        self._audit = audit
        self._clock = clock
        # One pause/resume per campaign at a time in this process: a double click sees "already paused".
        self._locks: collections.defaultdict[str, asyncio.Lock] = collections.defaultdict(asyncio.Lock)
        self._max_wait = comm.max_wait if max_rate_limit_wait is None else max_rate_limit_wait

    # Reading ------------------------------------------------------------------------------------------------

    async def find(self, ref: str) -> Campaign:
        """The campaign ``ref`` names (id, or name as in :func:`bot.campaigns.args.pick`).

        Raises :class:`NoSuchCampaign`, :class:`AmbiguousCampaign` or a :class:`VendorError`."""
        if is_uuid(ref):
            return await self._comm.get_campaign(ref.lower())
        return pick(ref, await self._comm.list_campaigns())

    async def status(self, ref: str, actor: Actor, *, attempt_id: str | None = None) -> Campaign:
        """:meth:`find`, audited as ``campaign.status``."""
        async with self._audited("campaign.status", actor, {"campaign": ref}, attempt_id) as row:
            campaign = await self.find(ref)
            row["campaign_id"] = campaign.id
            return campaign

    async def list_campaigns(self, wanted: str | None, actor: Actor, *, attempt_id: str | None = None) -> CampaignList:
        async with self._audited("campaign.list", actor, {"filter": wanted}, attempt_id):
            everything = await self._comm.list_campaigns()
        chosen = [c for c in everything if matches_filter(c, wanted, activity(c).value)]
        chosen.sort(key=lambda campaign: campaign.name.casefold())
        return CampaignList(chosen, len(everything))

    @contextlib.asynccontextmanager
    async def _audited(self, action: str, actor: Actor, arguments: dict[str, Any], attempt_id: str | None
                       ) -> AsyncIterator[dict[str, Any]]:
        """One audit row for a read: ok, invalid (no such / ambiguous name), vendor_error or error."""
        row: dict[str, Any] = {}
        started = time.perf_counter()

        async def record(outcome: AuditOutcome, error: BaseException | str | None = None) -> None:
            await asyncio.shield(self._audit.record(
                action, outcome, actor, arguments=arguments, error=error, campaign_id=row.get("campaign_id"),
                latency_ms=_ms_since(started), attempt_id=attempt_id))

        try:
            yield row
        except (NoSuchCampaign, AmbiguousCampaign) as error:
            await record(AuditOutcome.INVALID, f"{type(error).__name__}: {error.ref}")
            raise
        except VendorError as error:
            await record(AuditOutcome.VENDOR_ERROR, error)
            raise
        except BaseException as error:
            await record(AuditOutcome.ERROR, error if isinstance(error, Exception) else "interrupted")
            raise
        failed = row.get("error")
        await record(AuditOutcome.VENDOR_ERROR if failed else AuditOutcome.OK, failed)

    # Pause and resume ---------------------------------------------------------------------------------------

    async def toggle(self, campaign_id: str, op: Op, actor: Actor, *, notify: Notify | None = None,
                     attempt_id: str | None = None, basis: Basis | None = None,
                     note: Mapping[str, Any] | None = None) -> ToggleOutcome:
        """Pause or resume, from a fresh read (what a preview showed may be stale by the time of the click).

        With ``basis`` (what the clicked button was made against), a campaign that changed since is left alone:
        the outcome is STALE, with the campaign as it is now and its last change. ``note``: more arguments for the
        audit row (a scheduled run names its action)."""
        action = f"campaign.{op.value}"
        arguments: dict[str, Any] = {"campaign_id": campaign_id, **(note or {})}
        if basis is not None:
            arguments["basis"] = {"state": "".join("1" if on else "0" for on in basis.state) or "unknown",
                                  "read_at": basis.read_at.isoformat()}
        started = time.perf_counter()
        try:
            async with self._locks[campaign_id]:
                result = await self._toggle_once(campaign_id, op, actor, basis)
                error = result.error
                if (result.outcome is ChangeStatus.FAILED and isinstance(error, RateLimited)
                        and error.retry_after is not None and error.retry_after <= self._max_wait):
                    # A 429 on the save means Comm did not act on it: start over from a fresh read after the wait.
                    if notify is not None:
                        await notify(f"Comm asked the bot to slow down (429); trying again in "
                                     f"{error.retry_after:g} s.")
                    await asyncio.sleep(error.retry_after)
                    result = await self._toggle_once(campaign_id, op, actor, basis)
        except BaseException as failure:
            await asyncio.shield(self._audit.record(
                action, AuditOutcome.ERROR, actor, arguments=arguments, campaign_id=campaign_id,
                error=failure if isinstance(failure, Exception) else "interrupted before the outcome was known",
                latency_ms=_ms_since(started), attempt_id=attempt_id))
            raise
        log.info("%s %s by %s: %s", op, campaign_id, actor.user_id, result.outcome)
        arguments.update(result=result.outcome.value, changes={c.name: c.after for c in result.changes})
        outcome, error_text = _audit_outcome(result)
        await self._audit.record(action, outcome, actor, arguments=arguments, campaign_id=campaign_id,
                                 error=error_text, error_code="stale" if result.outcome is ChangeStatus.STALE else None,
                                 latency_ms=_ms_since(started), attempt_id=attempt_id)
        return replace(result, known_at=self._clock())  # after the row: a button made now knows this change

    async def last_change(self, campaign_id: str) -> LastChange | None:
        """The last pause or resume of the campaign through the bot that may have changed it (audit log)."""
        entry = await self._audit.latest(
            TOGGLE_ACTIONS, campaign_id=campaign_id, outcomes=(AuditOutcome.OK, AuditOutcome.VENDOR_ERROR),
            where=lambda row: row.arguments.get("result") in CHANGING)
        if entry is None:
            return None
        return LastChange(Op(entry.action.removeprefix("campaign.")), entry.user_id, entry.user_name, entry.at,
                          ChangeStatus(entry.arguments["result"]))

    async def _toggle_once(self, campaign_id: str, op: Op, actor: Actor, basis: Basis | None) -> ToggleOutcome:
        start = ToggleOutcome(op, ChangeStatus.FAILED, campaign_id, actor, self._clock(), basis=basis)
        try:
            current = await self._comm.get_campaign(campaign_id)
        except VendorError as error:
            return self._end(start, ChangeStatus.FAILED, error=error)
        if basis is not None:
            last = await self.last_change(campaign_id)
            if flag_state(current) != basis.state or (last is not None and last.at > basis.read_at):
                return self._end(start, ChangeStatus.STALE, campaign=current, last_change=last)
        planned: Plan = plan(current, op)
        if not planned.pausable:
            return self._end(start, ChangeStatus.NOT_PAUSABLE, campaign=current)
        if planned.nothing_to_do:
            return self._end(start, ChangeStatus.ALREADY, campaign=current)
        start = replace(start, campaign=current, changes=planned.changes)
        body = applied(current, planned.changes)
        try:
            await self._comm.put_campaign(campaign_id, body)
        except VendorError as error:
            if not error.maybe_applied:
                return self._end(start, ChangeStatus.FAILED, error=error)
            return await self._after_lost_answer(start, body, error)
        try:
            fresh = await self._comm.get_campaign(campaign_id)
        except VendorError as error:
            return self._end(start, ChangeStatus.UNVERIFIED, error=error)
        found = tuple(differences(body, fresh.raw))
        return self._end(start, ChangeStatus.CONFLICT if found else ChangeStatus.CHANGED, campaign=fresh,
                         differences=found)

    async def _after_lost_answer(self, start: ToggleOutcome, body: Json, error: VendorError) -> ToggleOutcome:
        """The save may have reached Comm: read the campaign to learn whether it took effect."""
        before = start.campaign
        assert before is not None
        try:
            fresh = await self._comm.get_campaign(start.campaign_id)
        except VendorError:
            return self._end(start, ChangeStatus.UNCERTAIN, error=error)
        lost = replace(start, campaign=fresh, error=error, answer_lost=True)
        found = tuple(differences(body, fresh.raw))
        if not found:
            return self._end(lost, ChangeStatus.CHANGED)
        if not differences(before.raw, fresh.raw):
            return self._end(lost, ChangeStatus.FAILED)  # the campaign is as it was: the save did not happen
        return self._end(lost, ChangeStatus.CONFLICT, differences=found)

    def _end(self, start: ToggleOutcome, kind: ChangeStatus, **changes: Any) -> ToggleOutcome:
        return replace(start, outcome=kind, at=self._clock(), **changes)

    # Stopping one send --------------------------------------------------------------------------------------

    async def stop(self, campaign_id: str, send_id: str, actor: Actor, *, attempt_id: str | None = None
                   ) -> StopOutcome:
        """Stop one send. Reads the campaign first, so a foreign or unknown campaign is refused before any POST."""
        arguments = {"campaign_id": campaign_id, "send_id": send_id}
        async with self._audited("campaign.stop", actor, arguments, attempt_id) as row:
            row["campaign_id"] = campaign_id
            campaign: Campaign | None = None
            try:
                campaign = await self._comm.get_campaign(campaign_id)
                result = await self._comm.stop_send(campaign_id, send_id)
            except VendorError as error:
                log.info("stop %s/%s by %s failed: %s", campaign_id, send_id, actor.user_id, error.kind)
                row["error"] = error
                return StopOutcome(campaign_id, send_id, actor, self._clock(), campaign=campaign, error=error)
            log.info("stop %s/%s by %s: %s", campaign_id, send_id, actor.user_id, result.status)
            return StopOutcome(campaign_id, send_id, actor, self._clock(), campaign=campaign, result=result)


def _audit_outcome(item: ToggleOutcome) -> tuple[AuditOutcome, VendorError | str | None]:
    """How a pause or resume is written down; ``arguments.result`` keeps the finer outcome."""
    if item.outcome is ChangeStatus.NOT_PAUSABLE:
        return AuditOutcome.INVALID, f"send type {item.campaign.send_type if item.campaign else 'unknown'}"
    if item.outcome is ChangeStatus.STALE:
        return AuditOutcome.INVALID, _stale_text(item)
    if item.outcome is ChangeStatus.CONFLICT:
        return AuditOutcome.OK, "read back differs at " + ", ".join(d.name for d in item.differences[:10])
    if item.outcome in (ChangeStatus.FAILED, ChangeStatus.UNCERTAIN):
        return AuditOutcome.VENDOR_ERROR, item.error
    return AuditOutcome.OK, item.error  # changed, already, or saved but not read back (the read's error)


def _stale_text(item: ToggleOutcome) -> str:
    basis, last = item.basis, item.last_change
    now = "".join("1" if on else "0" for on in flag_state(item.campaign)) if item.campaign is not None else "?"
    shown = "".join("1" if on else "0" for on in basis.state) if basis is not None and basis.known else "unknown"
    text = f"changed since the button was made: flags {now}, the button showed {shown}"
    if last is not None:
        text += f"; last {last.op.past} by {last.user_id} at {last.at.isoformat(timespec='seconds')}"
    return text


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
