"""``/comm upsert``: edit a loyalty target's communications in a modal (or in one line), then confirm in the channel.

Slack's clocks shape the flow: the trigger id lives 3 s, so the modal opens right after the ack and before any
vendor call (a loading view, then ``views.update`` with today's values); a submission must be answered in 3 s, so
it is answered with a "saving" view and the upsert runs after, ending in one more ``views.update``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.actors import Actor
from bot.capillary.loyalty import COMMUNICATION_TYPES, TargetCommunication
from bot.communications import (
    ACTION,
    CommunicationsService,
    Draft,
    Invalid,
    UpsertOutcome,
    parse_text,
    positive_id,
    validate,
)
from bot.services import Services
from bot.vendor_errors import VendorError
from handlers.authorize import ATTEMPT_KEY, Routes
from handlers.comm_upsert_blocks import (
    CALLBACK,
    FormMeta,
    confirmation_blocks,
    confirmation_text,
    done_view,
    failure_text,
    form_view,
    loading_view,
    read_form,
    saving_view,
    text_errors,
    unread_text,
)

if TYPE_CHECKING:
    from handlers.comm import CommRequest

log = logging.getLogger("commops.handlers.comm_upsert")

USAGE = ("`/comm upsert [<groupId> <targetId> [<type>]]`: create or edit a loyalty target's communication in a "
         "form, starting from today's values (of that type, when given); or in "
         "one line: `/comm upsert <groupId> <targetId> type=START channel=SMS sender=CAPLOY offset=1 active=true "
         "subject=\"…\" message=\"…\"`")
# Slack answers these when the bot may not post in the channel; the user's DM with the bot always works.
_NOT_HERE = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action"})

# The sub-command's route is in handlers/comm.py; the form's submission performs the same action.
ROUTES = Routes(views={CALLBACK: ACTION})


def _service(services: Services) -> CommunicationsService:
    if services.communications is None:  # Services built by hand (tests): same wiring as build_services
        services.communications = CommunicationsService(services.capillary, audit=services.audit,
                                                        zone=services.settings.tz)
    return services.communications


async def run(request: CommRequest) -> None:
    command = request.command
    actor = Actor(command["user_id"], command.get("user_name", ""), command.get("team_id"),
                  command.get("channel_id"))
    if "=" in request.args:
        await _one_line(request, actor)
        return
    words = request.args.split()
    ids: tuple[int, int] | None = None
    wanted = words[2].upper() if len(words) == 3 else None
    if words:
        group_id, group_problem = positive_id(words[0], "target group id")
        target_id, target_problem = positive_id(words[1] if len(words) > 1 else None, "target id")
        problems = [problem for problem in (group_problem, target_problem) if problem]
        if len(words) > 3 or (wanted is not None and wanted not in COMMUNICATION_TYPES):
            problems.append(f"After the two ids, give at most a type ({', '.join(COMMUNICATION_TYPES)}); write the "
                            "other fields as key=value.")
        if problems:
            await request.ack(text=":warning: " + " ".join(problems) + f"\n{USAGE}")
            return
        assert group_id is not None and target_id is not None
        ids = group_id, target_id
    await request.ack()
    await _open_form(request.client, _service(request.services), command, ids, wanted)


async def _open_form(client: AsyncWebClient, service: CommunicationsService, command: dict[str, Any],
                     ids: tuple[int, int] | None, wanted: str | None) -> None:
    meta = FormMeta(channel_id=command.get("channel_id"))
    shown = service.known_channels()
    first = loading_view(meta, *ids) if ids else form_view(meta, Draft(), shown)
    try:
        opened = await client.views_open(trigger_id=command["trigger_id"], view=first)
    except SlackApiError as error:
        log.warning("could not open the upsert form: %s", error.response.get("error"))
        await client.chat_postEphemeral(channel=command["channel_id"], user=command["user_id"],
                                        text=":warning: Slack did not let me open the form in time; run the "
                                             "command again.")
        return
    view_id = opened["view"]["id"]
    if ids is None:
        channels = await service.channels()
        if channels != shown:  # Slack keeps what was typed: same block and action ids
            await client.views_update(view_id=view_id, view=form_view(meta, Draft(), channels))
        return
    channels, existing = await asyncio.gather(service.channels(), _current(service, *ids))
    draft = Draft(str(ids[0]), str(ids[1]), wanted)
    if isinstance(existing, VendorError):
        view = form_view(meta, draft, channels, problem=unread_text(existing))
    else:
        # Start from the communication of the type asked for, else the oldest; a type it lacks starts empty.
        start = [item for item in existing if wanted in (None, item.communication_type)]
        view = form_view(meta, Draft.of(start[0]) if start else draft, channels, existing=existing)
    await client.views_update(view_id=view_id, view=view)


async def _current(service: CommunicationsService, group_id: int,
                   target_id: int) -> tuple[TargetCommunication, ...] | VendorError:
    try:
        return await service.current(group_id, target_id)
    except VendorError as error:
        return error


async def _one_line(request: CommRequest, actor: Actor) -> None:
    service = _service(request.services)
    attempt_id = request.context.get(ATTEMPT_KEY)
    try:
        upsert = validate(parse_text(request.args), service.known_channels())
    except Invalid as invalid:
        await request.ack(text=text_errors(invalid, USAGE))
        await service.record_invalid(actor, {"text": request.args}, invalid, attempt_id)
        return
    await request.ack(text=f"Saving the {upsert.items[0].communication_type} communication of target "
                           f"{upsert.target_id} in group {upsert.group_id}…")
    outcome = await service.upsert(upsert, actor, attempt_id=attempt_id)
    if outcome.error is not None:
        await request.respond(response_type="ephemeral", replace_original=False,
                              text=f":x: {failure_text(outcome.error)}")
        return
    await _confirm(request.client, actor, outcome, await service.channels())


async def _confirm(client: AsyncWebClient, actor: Actor, outcome: UpsertOutcome,
                   channels: dict[int, str]) -> str:
    """Post the confirmation where the command was typed, else in the user's DM; returns where it went."""
    blocks, text = confirmation_blocks(outcome, actor.user_id, channels), confirmation_text(outcome)
    if actor.channel_id:
        try:
            return str((await client.chat_postMessage(channel=actor.channel_id, text=text, blocks=blocks))["channel"])
        except SlackApiError as error:
            if error.response.get("error") not in _NOT_HERE:
                raise
            log.info("cannot post in %s (%s); confirming by DM", actor.channel_id, error.response.get("error"))
    return str((await client.chat_postMessage(channel=actor.user_id, text=text, blocks=blocks))["channel"])


def register(app: AsyncApp, services: Services) -> None:
    @app.view(CALLBACK)
    async def submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
                        context: AsyncBoltContext) -> None:
        service = _service(services)
        meta = FormMeta.load(view.get("private_metadata"))
        user = body.get("user") or {}
        actor = Actor(str(user.get("id", "")), str(user.get("username") or user.get("name") or ""),
                      user.get("team_id"), meta.channel_id)
        draft = read_form((view.get("state") or {}).get("values") or {})
        channels = service.known_channels()
        attempt_id = context.get(ATTEMPT_KEY)
        try:
            upsert = validate(draft, channels)
        except Invalid as invalid:
            await ack(response_action="errors", errors=invalid.errors)
            await service.record_invalid(actor, draft.as_dict(), invalid, attempt_id)
            return
        await ack(response_action="update", view=saving_view(meta, upsert, channels))
        outcome = await service.upsert(upsert, actor, attempt_id=attempt_id)
        if outcome.error is not None:
            problem = failure_text(outcome.error)
            await client.views_update(view_id=view["id"], view=form_view(meta, draft, channels, problem=problem))
            return
        try:
            posted_to: str | None = await _confirm(client, actor, outcome, channels)
        except SlackApiError as error:  # saved all the same: say so in the modal rather than lose it
            log.warning("could not post the upsert confirmation: %s", error.response.get("error"))
            posted_to = None
        await client.views_update(view_id=view["id"], view=done_view(meta, outcome, channels, posted_to))

