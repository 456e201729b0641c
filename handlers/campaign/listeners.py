"""/campaign and its buttons: parse, acknowledge at once, call bot.campaigns, render with campaign_blocks.

The access check (handlers/authorize.py) has already run when a listener starts, for the person who sent the
request: a Pause button in the channel is judged for whoever clicks it, not for whoever ran the command. A
click never trusts what the message showed: the service reads the campaign again before changing it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.actor import Actor
from bot.audit.log import AuditOutcome
from bot.campaigns.args import ALIASES, USAGE, VERBS, AmbiguousCampaign, CampaignCommand, NoSuchCampaign, is_uuid, parse
from bot.campaigns.plan import Op
from bot.campaigns.service import CampaignService
from bot.services import Services
from bot.vendors.comm.models import Campaign
from bot.vendors.errors import VendorError
from handlers.campaign import blocks as ui
from handlers.middleware.authorize import ANY, ATTEMPT_KEY, OPEN, Routes

log = logging.getLogger("commops.handlers.campaign")

NOT_CONFIGURED = (":warning: Comm is not configured for this bot, so `/campaign` cannot reach it: set COMM_API_TOKEN "
                  "(and COMM_API_URL when it is not https://api.comm.com/api) and restart the bot.")
_ACTIONS = {verb: f"campaign.{verb}" for verb in VERBS if verb != "help"}
_ROUTED = {**_ACTIONS, **{alias: _ACTIONS[verb] for alias, verb in ALIASES.items() if verb in _ACTIONS}}
# Any other first word only ever gets the usage, so it is open.
ROUTES = Routes(
    commands={"/campaign": {**_ROUTED, ANY: OPEN}},
    actions={ui.PAUSE: "campaign.pause", ui.RESUME: "campaign.resume", ui.STOP: "campaign.stop",
             ui.STATUS: "campaign.status", ui.LIST_PREVIOUS: "campaign.list", ui.LIST_NEXT: "campaign.list"},
)


@dataclass(frozen=True)
class Ask:
    """One person's request, with what every sub-command needs."""

    campaigns: CampaignService
    services: Services
    actor: Actor
    respond: AsyncRespond
    attempt_id: str | None

    async def reply(self, reply: dict[str, Any]) -> None:
        await self.respond(**reply)

    async def lookup(self, found: Awaitable[Campaign], verb: str) -> Campaign | None:
        """The campaign, or None once the person has been told why there is none."""
        try:
            return await found
        except AmbiguousCampaign as error:
            await self.reply(ui.ambiguous_reply(error, verb))
        except NoSuchCampaign as error:
            await self.reply(ui.no_such_reply(error))
        except VendorError as error:
            await self.reply(ui.problem_reply(error.sentence))
        return None


def usage_text(problem: str | None) -> str:
    return f":warning: {problem}\n\n{USAGE}" if problem else USAGE


async def _status(ask: Ask, parsed: CampaignCommand) -> None:
    assert parsed.campaign is not None
    campaign = await ask.lookup(ask.campaigns.status(parsed.campaign, ask.actor, attempt_id=ask.attempt_id), "status")
    if campaign is not None:
        await ask.reply(ui.status_reply(campaign, ask.services.clock()))


async def _list(ask: Ask, wanted: str | None, page: int) -> None:
    try:
        listing = await ask.campaigns.list_campaigns(wanted, ask.actor, attempt_id=ask.attempt_id)
    except VendorError as error:
        await ask.reply(ui.problem_reply(error.sentence))
        return
    await ask.reply(ui.list_reply(listing, wanted, page, ask.services.clock()))


async def _preview(ask: Ask, parsed: CampaignCommand) -> None:
    """Pause, resume and stop first show what would happen; the confirm button does it."""
    assert parsed.campaign is not None
    campaign = await ask.lookup(ask.campaigns.find(parsed.campaign), parsed.verb)
    if campaign is None:
        return
    if parsed.verb == "stop":
        assert parsed.send_id is not None
        await ask.reply(ui.stop_preview(campaign, parsed.send_id))
    else:
        await ask.reply(ui.toggle_preview(campaign, Op(parsed.verb), parsed.send_id))


def _clicker(body: dict[str, Any]) -> Actor:
    user = body.get("user") or {}
    return Actor(str(user.get("id", "")), str(user.get("username") or user.get("name") or ""), user.get("team_id"),
                 (body.get("channel") or {}).get("id"))


def register(app: AsyncApp, services: Services) -> None:
    def ask_for(actor: Actor, respond: AsyncRespond, context: AsyncBoltContext) -> Ask | None:
        if services.campaigns is None:
            return None
        return Ask(services.campaigns, services, actor, respond, context.get(ATTEMPT_KEY))

    @app.command("/campaign")
    async def campaign_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond,
                               context: AsyncBoltContext) -> None:
        parsed = parse(command.get("text") or "")
        actor = Actor(command["user_id"], command.get("user_name", ""), command.get("team_id"),
                      command.get("channel_id"))
        ask = ask_for(actor, respond, context)
        if parsed.verb == "help" or ask is None:
            await ack(text=usage_text(parsed.problem) if parsed.verb == "help" else NOT_CONFIGURED)
            intended = _ROUTED.get((command.get("text") or "").split(maxsplit=1)[0].lower() if parsed.problem else "")
            if intended is not None:  # a known sub-command with bad arguments: an attempt, written down
                await services.audit.record(intended, AuditOutcome.INVALID, actor, error=parsed.problem,
                                            arguments={"text": command.get("text") or ""},
                                            attempt_id=context.get(ATTEMPT_KEY))
            return
        await ack()
        if parsed.verb == "status":
            await _status(ask, parsed)
        elif parsed.verb == "list":
            await _list(ask, parsed.filter, 1)
        else:
            await _preview(ask, parsed)

    async def clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond,
                      context: AsyncBoltContext) -> Ask | None:
        await ack()
        ask = ask_for(_clicker(body), respond, context)
        if ask is None:
            await respond(**ui.problem_reply(NOT_CONFIGURED.removeprefix(":warning: ")))
        return ask

    async def bad_button(ask: Ask) -> None:
        await ask.reply(ui.problem_reply("That button carries no valid campaign id; run the command again."))

    async def clicked_campaign(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                               context: AsyncBoltContext) -> tuple[Ask, str] | None:
        """The click's Ask and the campaign id its button carries, or None once the person has been answered."""
        ask = await clicked(ack, body, respond, context)
        if ask is None:
            return None
        campaign_id = str(action.get("value", ""))
        if not is_uuid(campaign_id):
            await bad_button(ask)
            return None
        return ask, campaign_id

    def toggle_listener(op: Op) -> Any:
        async def toggle(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                         context: AsyncBoltContext) -> None:
            found = await clicked_campaign(ack, body, action, respond, context)
            if found is None:
                return
            ask, campaign_id = found

            async def notify(text: str) -> None:
                await respond(response_type="ephemeral", replace_original=False, text=text)

            outcome = await ask.campaigns.toggle(campaign_id, op, ask.actor, notify=notify,
                                                 attempt_id=ask.attempt_id)
            await ask.reply(ui.toggle_reply(outcome))

        return toggle

    for op in Op:
        app.action(ui.OP_ACTIONS[op])(toggle_listener(op))

    @app.action(ui.STOP)
    async def stop(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                   context: AsyncBoltContext) -> None:
        ask = await clicked(ack, body, respond, context)
        if ask is None:
            return
        campaign_id, _, send_id = str(action.get("value", "")).partition("/")
        if not (is_uuid(campaign_id) and is_uuid(send_id)):
            await bad_button(ask)
            return
        outcome = await ask.campaigns.stop(campaign_id, send_id, ask.actor, attempt_id=ask.attempt_id)
        await ask.reply(ui.stop_reply(outcome))

    @app.action(ui.STATUS)
    async def details(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                      context: AsyncBoltContext) -> None:
        found = await clicked_campaign(ack, body, action, respond, context)
        if found is not None:
            ask, campaign_id = found
            await _status(ask, CampaignCommand("status", campaign=campaign_id))

    @app.action(ui.LIST_PREVIOUS)
    @app.action(ui.LIST_NEXT)
    async def list_page(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                        context: AsyncBoltContext) -> None:
        ask = await clicked(ack, body, respond, context)
        if ask is not None:
            page, wanted = ui.read_page_value(str(action.get("value", "")))
            await _list(ask, wanted, page)
