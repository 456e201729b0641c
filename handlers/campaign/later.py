"""/campaign with a time, its confirm buttons, ``/campaign scheduled`` and its Cancel buttons: parse, ack, call
bot.schedule, render with handlers/campaign/schedule_blocks.py.

The person's time zone comes from Slack (``users.info``: ``user.tz``); a time is read in it once, at the preview, and
the confirm button carries the instant the preview showed, so what is confirmed is what happens.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals.service import ApprovalRequest, Executed
from bot.audit.log import AuditOutcome
from bot.campaigns.plan import Op, plan
from bot.campaigns.service import CampaignService
from bot.schedule.actions import Origin
from bot.schedule.service import ScheduleRequest, ScheduleService
from bot.schedule.when import When, WhenError, WhenKind, resolve
from bot.services import Services
from bot.vendors.comm.models import Campaign
from bot.vendors.errors import VendorError
from handlers.campaign import blocks as campaign_ui
from handlers.campaign import schedule_blocks as ui
from handlers.campaign.blocks import problem_reply
from handlers.campaign.values import ScheduleButton, read_cancel_value, read_schedule_value
from handlers.middleware.call import Call
from handlers.ui.approval import hold, needs
from handlers.ui.formatting import code, escape, slack_date

log = logging.getLogger("commops.handlers.campaign")

# What each confirm button schedules: the action that runs later, and how it came to be.
CONFIRMS = {ui.PAUSE_UNTIL: (Op.RESUME, Origin.AFTER_PAUSE), ui.SCHEDULE_PAUSE: (Op.PAUSE, Origin.AT),
            ui.SCHEDULE_RESUME: (Op.RESUME, Origin.AT)}
CANCELS = {ui.CANCEL_PAUSE: Op.PAUSE, ui.CANCEL_RESUME: Op.RESUME}


async def user_zone(client: AsyncWebClient, user_id: str) -> str | None:
    """The person's time zone as Slack knows it (an IANA name such as ``Europe/London``), or None."""
    try:
        reply = await client.users_info(user=user_id)
    except SlackApiError as error:
        log.warning("users.info for %s failed (%s): their time zone is unknown", user_id,
                    error.response.get("error"))
        return None
    user = reply.get("user") if reply is not None else None
    zone = user.get("tz") if isinstance(user, dict) else None
    return zone if isinstance(zone, str) and zone else None


def fallback(call: Call) -> Callable[[dict[str, Any]], Awaitable[Any]] | None:
    """The click's response URL: how the request is posted in a channel the bot is not in."""
    respond = call.respond
    if respond is None:
        return None

    async def post(message: dict[str, Any]) -> Any:
        return await respond(**message)

    return post


async def read_campaign(campaigns: CampaignService, campaign_id: str) -> Campaign | None:
    """The campaign as it is now, for describing an approval request; None when it cannot be read."""
    try:
        return await campaigns.find(campaign_id)
    except (VendorError, LookupError):
        return None


# What each confirm button needs approval (and a grant) for: a pause that resumes by itself is a pause.
APPROVAL_ACTIONS = {ui.PAUSE_UNTIL: "campaign.pause", ui.SCHEDULE_PAUSE: "campaign.pause",
                    ui.SCHEDULE_RESUME: "campaign.resume"}


async def approval_action(services: Services, action_id: str) -> str:
    """The action whose two-person rule a confirm click falls under. A pause that resumes by itself resumes too:
    when only resuming needs approval, it waits for a resume approver (else the rule would be one click away)."""
    action = APPROVAL_ACTIONS[action_id]
    if action_id == ui.PAUSE_UNTIL and not await needs(services, action) and await needs(services, "campaign.resume"):
        return "campaign.resume"
    return action


async def hold_schedule(services: Services, call: Call, action_id: str, value: str,
                        button: ScheduleButton) -> str | None:
    """The requester's note when scheduling waits for approval (the scheduling needs it, not each run); None when
    it needs none."""
    campaign = await read_campaign(services.campaigns, button.campaign_id) if services.campaigns else None
    where = campaign_ui.title(campaign) if campaign is not None else f"campaign {code(button.campaign_id)}"
    zone = f" ({escape(button.zone)})" if button.zone else ""
    later = (f"{escape(str(button.length))} after the approval" if button.length is not None
             else f"{slack_date(button.due_at)}{zone}")
    if action_id == ui.PAUSE_UNTIL:
        op = Op.PAUSE
        lines = [f"{campaign_ui.op_icon(op)} *Pause* {where} as soon as this is approved, and *resume* it by itself "
                 f"{later}."]
    else:
        op = CONFIRMS[action_id][0]
        lines = [f"{campaign_ui.op_icon(op)} *{op.value.capitalize()}* {where} {later} (scheduled once this is "
                 "approved)."]
    if campaign is not None and plan(campaign, op).changes:
        lines.append(campaign_ui.change_lines(plan(campaign, op).changes))
    return await hold(services, call.client, call.actor, call.attempt_id, await approval_action(services, action_id),
                      {"campaign_id": button.campaign_id, "schedule": action_id, "value": value}, lines,
                      audit={"campaign_id": button.campaign_id},
                      fallback=fallback(call))


async def carry_out_schedule(services: Services, request: ApprovalRequest, action_id: str) -> Executed:
    """An approved scheduling: the same ScheduleService call as a direct confirm click, as the requester."""
    schedule = services.schedule
    button = read_schedule_value(action_id, str(request.params.get("value", "")))
    if schedule is None or button is None or action_id not in CONFIRMS:
        return Executed(False, "not carried out: Comm is not configured, or the request is unreadable")
    op, origin = CONFIRMS[action_id]
    due_at = schedule.clock() + button.length if button.length is not None else button.due_at
    asked = ScheduleRequest(button.campaign_id, op, origin, due_at, button.basis, button.zone, button.key)
    outcome = await schedule.schedule(asked, request.requester, attempt_id=request.attempt_id)
    reply = ui.schedule_reply(outcome)
    return Executed(outcome.action is not None, f"schedule: {outcome.status.value}",
                    blocks=tuple(reply.get("blocks") or ()))


async def bad_button(call: Call) -> None:
    await call.reply(problem_reply("That button carries no valid scheduled action; run the command again."))


class ScheduleListeners:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def preview(self, call: Call, schedule: ScheduleService, campaign: Campaign, op: Op, when: When,
                      read_at: datetime) -> None:
        zone = await user_zone(call.client, call.actor.user_id)
        try:
            due_at = resolve(when.spec, read_at, zone)
        except WhenError as error:
            await self.services.audit.record(f"campaign.{op.value}", AuditOutcome.INVALID, call.actor,
                                             arguments={"campaign": campaign.id, when.kind.value: when.spec.text,
                                                        "zone": zone}, error=str(error), campaign_id=campaign.id,
                                             attempt_id=call.attempt_id)
            await call.reply(problem_reply(f"Nothing was scheduled: {error}"))
            return
        pending = await schedule.pending(campaign.id)
        grant = await schedule.may("campaign.resume", call.actor) if when.kind is not WhenKind.AT else None
        await call.reply(ui.schedule_preview(campaign, op, when, due_at, zone, read_at, pending, grant))

    async def confirm(self, call: Call, schedule: ScheduleService, action_id: str, value: str) -> None:
        button = read_schedule_value(action_id, value)
        if button is None or action_id not in CONFIRMS:
            await bad_button(call)
            return
        op, origin = CONFIRMS[action_id]
        if await needs(self.services, await approval_action(self.services, action_id)):
            held = await hold_schedule(self.services, call, action_id, value, button)
            if held is not None:
                await call.tell(held)
                return

        async def notify(text: str) -> None:
            await call.tell(text)

        due_at = schedule.clock() + button.length if button.length is not None else button.due_at
        request = ScheduleRequest(button.campaign_id, op, origin, due_at, button.basis, button.zone, button.key)
        outcome = await schedule.schedule(request, call.actor, attempt_id=call.attempt_id, notify=notify)
        await call.reply(ui.schedule_reply(outcome))

    async def listing(self, call: Call, schedule: ScheduleService) -> None:
        pending = await schedule.pending()
        await self.services.audit.record("campaign.list", AuditOutcome.OK, call.actor,
                                         arguments={"scheduled": len(pending)}, attempt_id=call.attempt_id)
        await call.reply(ui.scheduled_list_reply(pending, self.services.clock()))

    async def cancel(self, call: Call, schedule: ScheduleService, action_id: str, value: str) -> None:
        scheduled_id = read_cancel_value(value)
        if scheduled_id is None or action_id not in CANCELS:
            await bad_button(call)
            return
        outcome = await schedule.cancel(scheduled_id, CANCELS[action_id], call.actor, attempt_id=call.attempt_id)
        await call.reply(ui.cancel_reply(outcome))
