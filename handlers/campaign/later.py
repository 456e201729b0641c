"""/campaign with a time, its confirm buttons, ``/campaign scheduled`` and its Cancel buttons: parse, ack, call
bot.schedule, render with handlers/campaign/schedule_blocks.py.

The person's time zone comes from Slack (``users.info``: ``user.tz``); a time is read in it once, at the preview, and
the confirm button carries the instant the preview showed, so what is confirmed is what happens.
"""

from __future__ import annotations

import logging
from datetime import datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.audit.log import AuditOutcome
from bot.campaigns.plan import Op
from bot.schedule.actions import Origin
from bot.schedule.service import ScheduleRequest, ScheduleService
from bot.schedule.when import When, WhenError, WhenKind, resolve
from bot.services import Services
from bot.vendors.comm.models import Campaign
from handlers.campaign import schedule_blocks as ui
from handlers.campaign.blocks import problem_reply
from handlers.campaign.values import read_cancel_value, read_schedule_value
from handlers.middleware.call import Call

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
