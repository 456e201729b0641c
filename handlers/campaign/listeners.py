"""/campaign and its buttons: parse, acknowledge at once, call bot.campaigns, render with handlers.campaign.blocks.

The access check (handlers/middleware/authorize.py) has already run when a listener starts, for the person who sent the
request: a Pause button in the channel is judged for whoever clicks it, not for whoever ran the command. A
click never trusts what the message showed: the service reads the campaign again before changing it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.actor import Actor
from bot.audit.log import AuditOutcome
from bot.campaigns.args import ALIASES, USAGE, VERBS, AmbiguousCampaign, CampaignCommand, NoSuchCampaign, is_uuid
from bot.campaigns.plan import Op
from bot.campaigns.service import CampaignService
from bot.schedule.command import parse_request
from bot.schedule.when import When
from bot.services import Services
from bot.vendors.comm.models import Campaign
from bot.vendors.errors import VendorError
from handlers.campaign import blocks as ui
from handlers.campaign import schedule_blocks as later_ui
from handlers.campaign.later import CANCELS, CONFIRMS, ScheduleListeners
from handlers.campaign.schedule_blocks import status_lines
from handlers.campaign.values import read_toggle_value
from handlers.middleware.authorize import ANY, OPEN, Routes
from handlers.middleware.call import Call
from handlers.middleware.early_ack import Listeners
from handlers.middleware.payloads import first_word
from handlers.ui.formatting import escape

log = logging.getLogger("commops.handlers.campaign")

NOT_CONFIGURED = (":warning: Comm is not configured for this bot, so `/campaign` cannot reach it: set COMM_API_TOKEN "
                  "(and COMM_API_URL when it is not https://api.comm.com/api) and restart the bot.")
# `/campaign scheduled` is a read, of campaign.list: like `list` it shows what is planned for every campaign of the
# team (not one campaign's status), so a policy that closes campaign.list to someone closes this list too.
_ACTIONS = {verb: "campaign.list" if verb == "scheduled" else f"campaign.{verb}" for verb in VERBS if verb != "help"}
_ROUTED = {**_ACTIONS, **{alias: _ACTIONS[verb] for alias, verb in ALIASES.items() if verb in _ACTIONS}}
# Any other first word only ever gets the usage, so it is open. A confirm or Cancel button needs the grant of the
# action it schedules or cancels (a pause that resumes by itself is a pause now: campaign.pause; the service also
# checks campaign.resume, as which the resume will run).
ROUTES = Routes(
    commands={"/campaign": {**_ROUTED, ANY: OPEN}},
    actions={ui.PAUSE: "campaign.pause", ui.RESUME: "campaign.resume", ui.STOP: "campaign.stop",
             ui.STATUS: "campaign.status", ui.LIST_PREVIOUS: "campaign.list", ui.LIST_NEXT: "campaign.list",
             later_ui.PAUSE_UNTIL: "campaign.pause", later_ui.SCHEDULE_PAUSE: "campaign.pause",
             later_ui.SCHEDULE_RESUME: "campaign.resume", later_ui.CANCEL_PAUSE: "campaign.pause",
             later_ui.CANCEL_RESUME: "campaign.resume"},
)


async def _lookup(call: Call, found: Awaitable[Campaign], verb: str) -> Campaign | None:
    """The campaign, or None once the person has been told why there is none."""
    try:
        return await found
    except AmbiguousCampaign as error:
        await call.reply(ui.ambiguous_reply(error, verb))
    except NoSuchCampaign as error:
        await call.reply(ui.no_such_reply(error))
    except VendorError as error:
        await call.reply(ui.problem_reply(error.sentence))
    return None


def usage_text(problem: str | None) -> str:
    """The usage (its ``<campaign>`` placeholders shown as written), after what was wrong with the command."""
    return f":warning: {escape(problem)}\n\n{escape(USAGE)}" if problem else escape(USAGE)


class CampaignListeners:
    """/campaign and its buttons, served by one :class:`CampaignService` (None when Comm is not configured)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.later = ScheduleListeners(services)

    @property
    def campaigns(self) -> CampaignService | None:
        return self.services.campaigns

    async def status(self, call: Call, campaigns: CampaignService, ref: str) -> None:
        read_at = self.services.clock()  # before the read: what its buttons are made against
        campaign = await _lookup(call, campaigns.status(ref, call.actor, attempt_id=call.attempt_id), "status")
        if campaign is not None:
            schedule = self.services.schedule
            pending = await schedule.pending(campaign.id) if schedule is not None and campaign.id else []
            await call.reply(ui.status_reply(campaign, read_at, status_lines(pending)))

    async def listing(self, call: Call, campaigns: CampaignService, wanted: str | None, page: int) -> None:
        read_at = self.services.clock()
        try:
            listing = await campaigns.list_campaigns(wanted, call.actor, attempt_id=call.attempt_id)
        except VendorError as error:
            await call.reply(ui.problem_reply(error.sentence))
            return
        await call.reply(ui.list_reply(listing, wanted, page, read_at))

    async def preview(self, call: Call, campaigns: CampaignService, parsed: CampaignCommand,
                      when: When | None = None) -> None:
        """Pause, resume and stop first show what would happen (now, or at a time); the confirm button does it."""
        assert parsed.campaign is not None
        read_at = self.services.clock()
        campaign = await _lookup(call, campaigns.find(parsed.campaign), parsed.verb)
        if campaign is None:
            return
        if when is not None and self.services.schedule is not None:
            await self.later.preview(call, self.services.schedule, campaign, Op(parsed.verb), when, read_at)
        elif parsed.verb == "stop":
            assert parsed.send_id is not None
            await call.reply(ui.stop_preview(campaign, parsed.send_id))
        else:
            await call.reply(ui.toggle_preview(campaign, Op(parsed.verb), parsed.send_id, read_at))

    async def command(self, call: Call, text: str) -> None:
        request = parse_request(text)
        parsed = request.command
        campaigns = self.campaigns
        if parsed.verb == "help" or campaigns is None:
            await call.ack(text=usage_text(parsed.problem) if parsed.verb == "help" else NOT_CONFIGURED)
            intended = _ROUTED.get(first_word(text)[0].lower()) if parsed.problem else None
            if intended is not None:  # a known sub-command with bad arguments: an attempt, written down
                await self.services.audit.record(intended, AuditOutcome.INVALID, call.actor, error=parsed.problem,
                                                 arguments={"text": text}, attempt_id=call.attempt_id)
            return
        await call.ack()
        if parsed.verb == "status":
            assert parsed.campaign is not None
            await self.status(call, campaigns, parsed.campaign)
        elif parsed.verb == "list":
            await self.listing(call, campaigns, parsed.filter, 1)
        elif parsed.verb == "scheduled":
            if self.services.schedule is not None:  # always, when Comm is configured
                await self.later.listing(call, self.services.schedule)
        else:
            await self.preview(call, campaigns, parsed, request.when)

    async def clicked(self, call: Call) -> CampaignService | None:
        """Ack a click; the service, or None once the person has been told that Comm is not configured."""
        await call.ack()
        if self.campaigns is None:
            await call.reply(ui.problem_reply(NOT_CONFIGURED.removeprefix(":warning: ")))
        return self.campaigns

    async def bad_button(self, call: Call, action: str, value: str) -> None:
        """A button value the bot never made (forged, or mangled): refused in words, audited like a bad command."""
        await call.reply(ui.problem_reply("That button carries no valid campaign id; run the command again."))
        await self.services.audit.record(action, AuditOutcome.INVALID, call.actor, arguments={"value": value[:200]},
                                         error="not a button value the bot made", attempt_id=call.attempt_id)

    async def clicked_campaign(self, call: Call, value: str) -> tuple[CampaignService, str] | None:
        """The service and the campaign id the button carries, or None once the person has been answered."""
        campaigns = await self.clicked(call)
        if campaigns is None:
            return None
        if not is_uuid(value):
            await self.bad_button(call, "campaign.status", value)
            return None
        return campaigns, value

    async def toggle(self, call: Call, op: Op, value: str) -> None:
        campaigns = await self.clicked(call)
        if campaigns is None:
            return
        found = read_toggle_value(value)  # the campaign, and what the button was made against
        if found is None:
            await self.bad_button(call, f"campaign.{op.value}", value)
            return
        campaign_id, basis = found

        async def notify(text: str) -> None:
            await call.tell(text)

        outcome = await campaigns.toggle(campaign_id, op, call.actor, notify=notify, attempt_id=call.attempt_id,
                                         basis=basis)
        await call.reply(ui.toggle_reply(outcome))

    async def stop(self, call: Call, value: str) -> None:
        campaigns = await self.clicked(call)
        if campaigns is None:
            return
        campaign_id, _, send_id = value.partition("/")
        if not (is_uuid(campaign_id) and is_uuid(send_id)):
            await self.bad_button(call, "campaign.stop", value)
            return
        outcome = await campaigns.stop(campaign_id, send_id, call.actor, attempt_id=call.attempt_id)
        await call.reply(ui.stop_reply(outcome))




def register(app: Listeners, services: Services) -> None:
    serve = CampaignListeners(services)

    @app.command("/campaign")
    async def campaign_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, actor: Actor,
                               attempt_id: str, client: AsyncWebClient) -> None:
        await serve.command(Call(actor, attempt_id, ack, respond, client), str(command.get("text") or ""))

    def toggle_listener(op: Op) -> Any:
        async def toggle(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond, actor: Actor,
                         attempt_id: str, client: AsyncWebClient) -> None:
            await serve.toggle(Call(actor, attempt_id, ack, respond, client), op, str(action.get("value", "")))

        toggle.__name__ = f"campaign_{op.value}"
        return toggle

    for op in Op:
        app.action(ui.OP_ACTIONS[op])(toggle_listener(op))

    @app.action(ui.STOP)
    async def stop(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond, actor: Actor, attempt_id: str,
                   client: AsyncWebClient) -> None:
        await serve.stop(Call(actor, attempt_id, ack, respond, client), str(action.get("value", "")))

    @app.action(ui.STATUS)
    async def details(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond, actor: Actor, attempt_id: str,
                      client: AsyncWebClient) -> None:
        call = Call(actor, attempt_id, ack, respond, client)
        found = await serve.clicked_campaign(call, str(action.get("value", "")))
        if found is not None:
            await serve.status(call, *found)

    async def list_page(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond, actor: Actor,
                        attempt_id: str, client: AsyncWebClient) -> None:
        call = Call(actor, attempt_id, ack, respond, client)
        campaigns = await serve.clicked(call)
        if campaigns is not None:
            page, wanted = ui.read_page_value(str(action.get("value", "")))
            await serve.listing(call, campaigns, wanted, page)

    app.action(ui.LIST_PREVIOUS)(list_page)
    app.action(ui.LIST_NEXT)(list_page)

    async def schedule_button(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond, actor: Actor,
                              attempt_id: str, client: AsyncWebClient) -> None:
        call = Call(actor, attempt_id, ack, respond, client)
        if await serve.clicked(call) is None or serve.services.schedule is None:
            return
        action_id, value = str(action.get("action_id", "")), str(action.get("value", ""))
        if action_id in CONFIRMS:
            await serve.later.confirm(call, serve.services.schedule, action_id, value)
        else:
            await serve.later.cancel(call, serve.services.schedule, action_id, value)

    for action_id in [*CONFIRMS, *CANCELS]:
        app.action(action_id)(schedule_button)
