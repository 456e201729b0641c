"""``/comm upsert``: edit a loyalty target's communications in a modal (or in one line), then confirm in the channel.

Slack's clocks shape the flow: the trigger id lives 3 s, so the modal opens right after the ack and before any
vendor call (a loading view, then ``views.update`` with today's values); a submission must be answered in 3 s, so
it is answered with a "saving" view and the upsert runs after, ending in one more ``views.update``.

Changing the type or the channel in the open form sends a ``block_actions`` (the selects have ``dispatch_action``):
it is acked at once, the target's communications are read again, and the form follows (``target_comms.service.refill``:
today's values of that type and channel, or empty fields for a new one, unless the person already changed fields,
which are then kept). The update carries the view's ``hash``, so it never overwrites a view that changed meanwhile
(a submission's "saving" view, a later change); it is retried only when what changed meanwhile was this bot's own
refill for an earlier change of the same form.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.actor import Actor
from bot.services import Services
from bot.target_comms.service import (
    ACTION,
    Draft,
    Invalid,
    TargetCommsService,
    UpsertOutcome,
    basis_of,
    parse_text,
    positive_id,
    refill,
    validate,
)
from bot.vendors.capillary.loyalty import COMMUNICATION_TYPES, TargetCommunication
from bot.vendors.errors import VendorError
from handlers.comm.upsert_blocks import (
    CALLBACK,
    DISPATCH_ACTIONS,
    FormMeta,
    action_ids,
    confirmation_blocks,
    confirmation_text,
    done_view,
    failure_text,
    form_view,
    initial_values,
    kept_text,
    loading_view,
    read_form,
    saving_view,
    shown_values,
    text_errors,
    unread_text,
)
from handlers.middleware.authorize import Routes
from handlers.middleware.call import Call
from handlers.middleware.early_ack import Listeners
from handlers.ui.formatting import escape

log = logging.getLogger("commops.handlers.comm_upsert")

USAGE = ("`/comm upsert [<groupId> <targetId> [<type>]]`: create or edit a loyalty target's communication in a "
         "form, starting from today's values (of that type, when given); or in "
         "one line: `/comm upsert <groupId> <targetId> type=START channel=SMS sender=CAPLOY offset=1 active=true "
         "subject=\"…\" message=\"…\"`")
# Slack answers these when the bot may not post in the channel; the user's DM with the bot always works.
_NOT_HERE = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action"})

# The sub-command's route is in handlers/comm.py; the form's submission and its type/channel changes (which read
# the target's communications and refill the form) belong to the same action.
ROUTES = Routes(actions={action_id: ACTION for action_id in DISPATCH_ACTIONS}, views={CALLBACK: ACTION})
_REMEMBERED = 512  # open forms the refill bookkeeping keeps track of


def _service(services: Services) -> TargetCommsService:
    if services.target_comms is None:  # Services built by hand (tests): same wiring as build_services
        services.target_comms = TargetCommsService(services.capillary, audit=services.audit,
                                                        zone=services.settings.tz)
    return services.target_comms


async def run(call: Call, services: Services) -> None:
    if "=" in call.args:
        await _one_line(call, services)
        return
    words = call.args.split()
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
            await call.ack(text=":warning: " + escape(" ".join(problems)) + f"\n{escape(USAGE)}")
            return
        assert group_id is not None and target_id is not None
        ids = group_id, target_id
    await call.ack()
    await _open_form(call, _service(services), ids, wanted)


async def _open_form(call: Call, service: TargetCommsService, ids: tuple[int, int] | None,
                     wanted: str | None) -> None:
    client, actor = call.client, call.actor
    meta = FormMeta(channel_id=actor.channel_id, basis=basis_of(Draft()))
    shown = service.known_channels()
    first = loading_view(meta, *ids) if ids else form_view(meta, Draft(), shown)
    try:
        opened = await client.views_open(trigger_id=call.trigger_id or "", view=first)
    except SlackApiError as error:
        log.warning("could not open the upsert form: %s", error.response.get("error"))
        await client.chat_postEphemeral(channel=actor.channel_id or actor.user_id, user=actor.user_id,
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
        view = form_view(meta.model_copy(update={"basis": basis_of(draft)}), draft, channels,
                         problem=unread_text(existing))
    else:
        # Start from the communication of the type asked for, else the oldest; a type it lacks starts empty.
        start = [item for item in existing if wanted in (None, item.communication_type)]
        draft = Draft.of(start[0]) if start else draft
        view = form_view(meta.model_copy(update={"basis": basis_of(draft)}), draft, channels, existing=existing)
    await client.views_update(view_id=view_id, view=view)


async def _current(service: TargetCommsService, group_id: int,
                   target_id: int) -> tuple[TargetCommunication, ...] | VendorError:
    try:
        return await service.current(group_id, target_id)
    except VendorError as error:
        return error


class _Refills:
    """Bookkeeping of the form refills in this process, per modal: the order in which type/channel changes arrived
    (a change overtaken by a later one is dropped), and the last view a refill put there with the hash it replaced
    (a change that lost the hash race only to that refill may retry on top of it)."""

    def __init__(self, size: int = _REMEMBERED) -> None:
        self._tickets = itertools.count(1)
        self._newest: OrderedDict[str, int] = OrderedDict()
        self._ours: OrderedDict[str, tuple[str, dict[str, Any]]] = OrderedDict()
        self._size = size

    def _keep(self, table: OrderedDict[str, Any], view_id: str, value: Any) -> None:
        table[view_id] = value
        table.move_to_end(view_id)
        while len(table) > self._size:
            table.popitem(last=False)

    def arrived(self, view_id: str) -> int:
        ticket = next(self._tickets)
        self._keep(self._newest, view_id, ticket)
        return ticket

    def overtaken(self, view_id: str, ticket: int) -> bool:
        return self._newest.get(view_id, ticket) > ticket

    def put(self, view_id: str, replaced_hash: str, view: dict[str, Any]) -> None:
        self._keep(self._ours, view_id, (replaced_hash, view))

    def ours_over(self, view_id: str, replaced_hash: str) -> dict[str, Any] | None:
        """The view a refill put in place of the one with ``replaced_hash``, if that is the last change we made."""
        found = self._ours.get(view_id)
        return found[1] if found is not None and found[0] == replaced_hash else None


async def _follow(client: AsyncWebClient, service: TargetCommsService, refills: _Refills,
                  body: Mapping[str, Any]) -> None:
    """The type or channel changed in an open form: refill it, keep what the person typed, or say why not."""
    view = body.get("view") or {}
    actions = body.get("actions") or [{}]
    view_id = str(view.get("id") or "")
    if not view_id or view.get("callback_id") != CALLBACK:
        log.info("a type/channel change without its form; nothing to update")
        return
    ticket = refills.arrived(view_id)
    meta = FormMeta.load(view.get("private_metadata"))
    now = shown_values(view, actions[0] if isinstance(actions[0], Mapping) else None)
    channels = await service.channels()
    group_id, group_problem = positive_id(now.group, "target group id")
    target_id, target_problem = positive_id(now.target, "target id")
    wanted, existing, note = now, None, None
    if group_problem or target_problem:
        note = "Give the target group id and target id to see what the target has; the form kept your values."
    else:
        assert group_id is not None and target_id is not None
        found = await _current(service, group_id, target_id)
        if isinstance(found, VendorError):
            note = f":x: {unread_text(found)} The form kept your values."
        else:
            existing = found
            result = refill(now, found, meta.basis, channels)
            wanted = result.draft
            if result.filled:
                meta = meta.model_copy(update={"basis": basis_of(wanted)})
            else:
                note = kept_text(result, now.group, now.target, channels)
    if refills.overtaken(view_id, ticket):
        log.debug("a later change of form %s is being followed; dropping this one", view_id)
        return
    base, holds, base_hash = view, now, str(view.get("hash") or "")
    for attempt in (1, 2):
        new_view = form_view(meta, wanted, channels, existing=existing, note=note, ids=action_ids(base, holds, wanted))
        try:
            answer = await client.views_update(view_id=view_id, view=new_view,
                                               **({"hash": base_hash} if base_hash else {}))
        except SlackApiError as error:
            code = error.response.get("error")
            ours = refills.ours_over(view_id, base_hash) if code == "hash_conflict" and attempt == 1 else None
            if ours is not None and not refills.overtaken(view_id, ticket):
                base, holds, base_hash = ours, initial_values(ours), str(ours.get("hash") or "")
                continue
            # hash_conflict: the form changed meanwhile (submitted, or a later change): leave it as it is.
            log.info("form %s not refilled: %s", view_id, code)
            return
        refills.put(view_id, base_hash, dict(answer.get("view") or {}))
        return


async def _one_line(call: Call, services: Services) -> None:
    service, actor, attempt_id = _service(services), call.actor, call.attempt_id
    try:
        upsert = validate(parse_text(call.args), service.known_channels())
    except Invalid as invalid:
        await call.ack(text=text_errors(invalid, USAGE))
        await service.record_invalid(actor, {"text": call.args}, invalid, attempt_id)
        return
    await call.ack(text=f"Saving the {escape(upsert.items[0].communication_type)} communication of target "
                           f"{upsert.target_id} in group {upsert.group_id}…")
    outcome = await service.upsert(upsert, actor, attempt_id=attempt_id)
    if outcome.error is not None:
        await call.tell(f":x: {failure_text(outcome.error)}")
        return
    channels = await service.channels()
    try:
        await _confirm(call.client, actor, outcome, channels)
    except SlackApiError as error:  # saved all the same: the person must hear it, with the result
        log.warning("could not post the upsert confirmation: %s", error.response.get("error"))
        await call.tell(f":white_check_mark: Saved, but the confirmation could not be posted in the channel, so "
                        f"only you see it here. {confirmation_text(outcome)}",
                        confirmation_blocks(outcome, actor.user_id, channels))


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


def register(app: Listeners, services: Services) -> None:
    refills = _Refills()

    async def changed(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()  # the refill reads Capillary; Slack only needs to hear that the change arrived
        await _follow(client, _service(services), refills, body)

    for action_id in DISPATCH_ACTIONS:
        app.action(action_id)(changed)

    @app.view(CALLBACK)
    async def submitted(ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient, actor: Actor,
                        attempt_id: str) -> None:
        service = _service(services)
        meta = FormMeta.load(view.get("private_metadata"))
        draft = read_form((view.get("state") or {}).get("values") or {})
        channels = service.known_channels()
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

