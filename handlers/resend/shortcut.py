"""The *Resend from message* message shortcut: a modal listing the message ids found in a message, a checkbox each,
and on submit a resend of the chosen ones through the same service, duplicate guard, policy and audit as /resend.

The access check runs twice, in the authorize middleware: when the shortcut is used (the message's channel) and when
the form is submitted (the channel the form names in its ``private_metadata``). The form's metadata is read back
through a typed model; anything the bot did not write is refused in words and audited, never acted on.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.actor import Actor
from bot.audit.log import AuditOutcome
from bot.errors import UsageError
from bot.resend.scan import ids_in
from bot.resend.service import MAX_IDS, parse_message_id
from bot.services import Services
from bot.work import Busy
from handlers.middleware.call import Call
from handlers.middleware.early_ack import Listeners
from handlers.middleware.payloads import NotUnderstood, json_object
from handlers.resend.blocks import described, result_blocks, summary_text
from handlers.ui.approval import hold, needs
from handlers.ui.formatting import Block, channel_link, code, context, section

log = logging.getLogger("commops.handlers.resend")

SHORTCUT = "resend_from_message"  # the message shortcut's callback_id (manifest.yml)
FORM = "resend_from_message.form"  # the modal's callback_id
CHOSEN = "chosen"  # each checkbox group's action_id
PER_GROUP = 10  # Slack: at most 10 options in one checkboxes element
TITLE = "Resend from message"
FORGED = ("This form does not carry what commops put in it, so nothing was resent. Use the shortcut on the "
          "message again.")


class FormMetadata(BaseModel):
    """What the modal remembers between the shortcut and the submission: where the message is, and the ids offered."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    channel_id: Annotated[str, StringConstraints(pattern=r"^[CGD][A-Z0-9]{2,40}$")]
    message_ts: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,12}\.[0-9]{1,8}$")]
    ids: Annotated[list[Annotated[str, StringConstraints(pattern=r"^[0-9]{10,19}$")]],
                   Field(min_length=1, max_length=MAX_IDS)]


def read_metadata(text: str) -> FormMetadata:
    """The form's metadata, or ValueError when it is not what the shortcut wrote."""
    try:
        return FormMetadata.model_validate(json_object(text, "the form's private_metadata"))
    except (NotUnderstood, ValidationError) as error:
        raise ValueError(str(error)) from None


def _modal(blocks: list[Block], *, submit: str | None = None, metadata: str = "") -> dict[str, Any]:
    view: dict[str, Any] = {"type": "modal", "callback_id": FORM, "title": {"type": "plain_text", "text": TITLE},
                            "close": {"type": "plain_text", "text": "Close" if submit is None else "Cancel"},
                            "blocks": blocks}
    if submit is not None:
        view["submit"] = {"type": "plain_text", "text": submit}
        view["private_metadata"] = metadata
    return view


def notice_view(text: str) -> dict[str, Any]:
    """A modal that only says something (no ids, a refusal, progress, the outcome)."""
    return _modal([section(text)])


def form_view(ids: list[int], channel_id: str, message_ts: str) -> dict[str, Any]:
    """A checkbox per id (all checked), at most MAX_IDS of them; the rest are named as left out."""
    offered, left_out = ids[:MAX_IDS], len(ids) - MAX_IDS
    noun = "message id" if len(ids) == 1 else "message ids"
    blocks: list[Block] = [section(
        f"Found {len(ids)} {noun} in this message. Untick any you do not want resent. Each is resent as with "
        "`/resend`: one that was resent in the last 10 minutes is not sent again unless you say so, and the result "
        f"is posted in {channel_link(channel_id)}.")]
    if left_out > 0:
        blocks.append(context(f":warning: {left_out} more {'id was' if left_out == 1 else 'ids were'} left out: at "
                              f"most {MAX_IDS} are resent at a time. Resend those with `/resend` afterwards."))
    for start in range(0, len(offered), PER_GROUP):
        group = offered[start:start + PER_GROUP]
        options = [{"text": {"type": "mrkdwn", "text": code(message_id)}, "value": str(message_id)}
                   for message_id in group]
        blocks.append({
            "type": "input", "block_id": f"ids-{start // PER_GROUP}", "optional": True,
            "label": {"type": "plain_text",
                      "text": "Message ids" if len(offered) <= PER_GROUP else f"Ids {start + 1}-{start + len(group)}"},
            "element": {"type": "checkboxes", "action_id": CHOSEN, "options": options, "initial_options": options},
        })
    metadata = json.dumps({"channel_id": channel_id, "message_ts": message_ts,
                           "ids": [str(message_id) for message_id in offered]}, separators=(",", ":"))
    submit = "Resend" if len(offered) == 1 else f"Resend {len(offered)}"
    return _modal(blocks, submit=submit, metadata=metadata)


def chosen_ids(state: dict[str, Any]) -> list[str]:
    """The values ticked in every checkbox group of a submitted form's state."""
    values: list[str] = []
    for block_id, elements in (state.get("values") or {}).items():
        if not str(block_id).startswith("ids-") or not isinstance(elements, dict):
            continue
        entry = elements.get(CHOSEN) or {}
        for option in entry.get("selected_options") or []:
            if isinstance(option, dict) and isinstance(option.get("value"), str):
                values.append(option["value"])
    return values


def register(app: Listeners, services: Services) -> None:
    @app.shortcut(SHORTCUT)
    async def resend_from_message(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, actor: Actor,
                                  attempt_id: str, client: AsyncWebClient) -> None:
        await ack()
        message = body.get("message") or {}
        channel_id = str((body.get("channel") or {}).get("id") or "")
        ids = ids_in(message.get("text"), message.get("blocks") or [])
        if ids:
            view = form_view(ids, channel_id, str(message.get("ts") or ""))
        else:
            view = notice_view("No message ids in this message: commops looks for whole numbers of 10 to 19 digits "
                               "(like `1746061653596`) in its text. To resend others, use `/resend <messageId>`.")
        try:
            await client.views_open(trigger_id=str(body.get("trigger_id") or ""), view=view)
        except Exception as error:  # the trigger expired, Slack refused the view: say so where the person is
            log.warning("could not open the resend form for %s: %s", actor.user_id, type(error).__name__)
            await Call(actor, attempt_id, ack, respond if body.get("response_url") else None, client).tell(
                ":warning: commops could not open the resend form (Slack refused it); nothing was resent. "
                "Try the shortcut again.")

    @app.view(FORM)
    async def resend_chosen(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], actor: Actor,
                            attempt_id: str, client: AsyncWebClient) -> None:
        try:
            form = read_metadata(str(view.get("private_metadata") or ""))
            offered = set(form.ids)
            chosen = chosen_ids(view.get("state") or {})
            if not set(chosen) <= offered:
                raise ValueError("a ticked id the form did not offer")
            ids = [parse_message_id(value) for value in dict.fromkeys(chosen)]
        except (ValueError, UsageError) as error:
            await ack(response_action="update", view=notice_view(f":no_entry: {FORGED}"))
            await services.audit.record("resend", AuditOutcome.INVALID, actor, arguments={"form": FORM},
                                        error=f"forged or mangled form: {str(error)[:200]}", attempt_id=attempt_id)
            return
        if not ids:
            first = next((block.get("block_id") for block in view.get("blocks") or []
                          if block.get("type") == "input"), "ids-0")
            await ack(response_action="errors", errors={first: "Tick at least one message id, or Cancel."})
            return
        here = Actor(actor.user_id, actor.user_name, actor.team_id, form.channel_id)
        if await needs(services, "resend", len(ids)):  # the two-person rule holds here as for /resend
            await ack(response_action="update", view=notice_view(":hourglass_flowing_sand: Asking for approval…"))
            held = await hold(services, client, here, attempt_id, "resend", {"ids": ids}, described(ids),
                              count=len(ids), audit={"communication_id": ",".join(map(str, ids))})
            await _show(client, view, held or "The approval rule changed meanwhile: use the shortcut again.")
            return
        ticket = services.budget.admit(actor.user_id, len(ids))
        if isinstance(ticket, Busy):
            await ack(response_action="update", view=notice_view(ticket.text()))
            await services.audit.record_busy("resend", actor, ticket, arguments={"ids": [str(i) for i in ids]},
                                             attempt_id=attempt_id)
            return
        with ticket:
            noun = f"message {ids[0]}" if len(ids) == 1 else f"{len(ids)} messages"
            await ack(response_action="update", view=notice_view(f":hourglass_flowing_sand: Resending {noun}…"))
            call = Call(here, attempt_id, ack, None, client)
            started = services.clock()
            outcomes = await services.resend.resend_many(ids, here, attempt_id=attempt_id, ticket=ticket)
        how = await call.reply({"response_type": "in_channel", "text": summary_text(outcomes),
                                "blocks": result_blocks(outcomes, actor.user_id, started)})
        where = {"channel": f"posted in {channel_link(form.channel_id)}",
                 "ephemeral": f"shown to you in {channel_link(form.channel_id)}",
                 "dm": "sent to you in a direct message (commops cannot post in that channel)"}.get(how)
        done = f"{summary_text(outcomes)}. The result was {where}." if where else (
            f"{summary_text(outcomes)}. Slack refused every way to tell you the details; see `/comm audit`.")
        await _show(client, view, done)


async def _show(client: AsyncWebClient, view: dict[str, Any], text: str) -> None:
    """``text`` in the form, after its ack: the person may have closed it, and then it is told elsewhere too."""
    try:
        await client.views_update(view_id=str(view.get("id") or ""), view=notice_view(text))
    except Exception:  # closed already: the result is in the channel or their DMs (the request in the channel)
        log.debug("the resend form was closed before its outcome was shown")
