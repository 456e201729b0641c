"""/resend, its "Resend anyway" button, and (handlers/resend/shortcut.py) the Resend from message shortcut."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.access.explain import explain
from bot.actor import Actor
from bot.approvals.service import ApprovalRequest, Executed
from bot.audit.log import AuditOutcome
from bot.errors import UsageError
from bot.resend.service import USAGE, ResendStatus, parse_anyway_value, parse_message_ids
from bot.services import Services
from bot.work import Busy
from handlers.middleware.authorize import ANY, Routes
from handlers.middleware.call import Call
from handlers.middleware.early_ack import Listeners, answer_only
from handlers.resend import shortcut
from handlers.resend.blocks import (
    RESEND_ANYWAY,
    after_anyway,
    described,
    outcome_line,
    result_blocks,
    summary_text,
)
from handlers.ui.approval import hold, needs
from handlers.ui.formatting import escape
from handlers.ui.help import HelpLine, personal_help

log = logging.getLogger("commops.handlers.resend")

FAILED_REPLY = ("Something went wrong on our side while resending; the ids above without a result were not "
                "confirmed. Check before trying again.")

# Every /resend (but its usage) and every Resend-anyway click resends: both need the `resend` grant.
# The Resend from message shortcut and its form resend too: the grant is checked when the shortcut is used and again
# when the form is submitted.
ROUTES = Routes(commands={"/resend": {ANY: "resend"}}, actions={RESEND_ANYWAY: "resend"},
                shortcuts={shortcut.SHORTCUT: "resend"}, views={shortcut.FORM: "resend"})


async def personal_usage(services: Services, actor: Actor) -> str:
    """The usage of /resend when the person may resend here; else what it is, why not, and how to get access."""
    standings = await explain(services.access, actor.user_id, actor.channel_id, ("resend",))
    lines = [HelpLine(USAGE, ("resend",), usable=True)]
    least = await services.access.approval_threshold("resend")
    if least is not None:  # the two-person rule: said before anyone is surprised by a resend that waits
        many = f"of {least} ids or more " if least > 1 else ""
        lines.append(HelpLine(f"A /resend {many}waits for a second person's approval (the access policy's "
                              "[[approval]] rule): the bot posts the request here, and an approver decides it.",
                              ("resend",)))
    return personal_help("/resend", lines, standings)


def register(app: Listeners, services: Services) -> None:
    shortcut.register(app, services)
    async def carry_out(request: ApprovalRequest) -> Executed:
        """An approved /resend or Resend anyway: the same service call as the direct path, as the requester."""
        ids = [int(message_id) for message_id in request.params.get("ids") or []]
        chosen = {int(key): int(version) for key, version in (request.params.get("overriding") or {}).items()}
        actor = request.requester
        ticket = services.budget.admit(actor.user_id, len(ids))
        if isinstance(ticket, Busy):
            return Executed(False, "not carried out: the bot was busy with other resends; ask again in a minute")
        with ticket:
            outcomes = await services.resend.resend_many(ids, actor, overriding=chosen or None,
                                                         attempt_id=request.attempt_id, ticket=ticket)
        lines = [outcome_line(item) for item in outcomes]
        if any(item.outcome is ResendStatus.DUPLICATE for item in outcomes):  # no Resend anyway button here
            lines.append("_To send those again anyway, `/resend` them and press *Resend anyway* (under the rule, "
                         "that asks for approval again)._")
        return Executed(any(item.result is not None for item in outcomes), summary_text(outcomes), tuple(lines))

    if services.approvals is not None:
        services.approvals.register("resend", carry_out)

    @app.command("/resend")
    async def resend_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, actor: Actor,
                             attempt_id: str, client: AsyncWebClient) -> None:
        text = (command.get("text") or "").strip()
        if text.lower() in ("", "help", "-h", "--help", "?"):
            usage = await personal_usage(services, actor)
            await ack(text=usage if text else f"{escape(UsageError('Give at least one message id.'))}\n\n{usage}")
            return
        try:
            ids = parse_message_ids(text)
        except UsageError as error:
            await ack(text=f":warning: {escape(error)}\n\n{escape(USAGE)}")
            await services.audit.record("resend", AuditOutcome.INVALID, actor, arguments={"text": text},
                                        error=str(error), attempt_id=attempt_id)
            return
        if await needs(services, "resend", len(ids)):
            await ack()
            call = Call(actor, attempt_id, ack, respond, client)
            held = await hold(services, client, actor, attempt_id, "resend", {"ids": ids}, described(ids),
                              count=len(ids), audit={"communication_id": ",".join(map(str, ids))},
                              fallback=lambda message: respond(**message))
            if held is not None:
                await call.tell(held)
                return
            await call.tell("The approval rule changed meanwhile: run /resend again.")
            return
        ticket = services.budget.admit(actor.user_id, len(ids))
        if isinstance(ticket, Busy):  # nothing queued: the person hears it at once, in the ack
            await answer_only(ack, text=ticket.text())
            await services.audit.record_busy("resend", actor, ticket, arguments={"text": text}, attempt_id=attempt_id)
            return
        with ticket:
            noun = f"message {ids[0]}" if len(ids) == 1 else f"{len(ids)} messages"
            await ack(text=f"Resending {noun}…")
            call = Call(actor, attempt_id, ack, respond, client)
            started = services.clock()
            try:
                outcomes = await services.resend.resend_many(ids, actor, attempt_id=attempt_id, ticket=ticket)
            except Exception:
                log.exception("resend of %s failed unexpectedly", ids)
                await call.tell(FAILED_REPLY)
                return
        text, blocks = summary_text(outcomes), result_blocks(outcomes, actor.user_id, started)
        # The response URL may refuse it (expired, used up, Slack hiccuped): the reply path then posts it.
        await call.reply({"response_type": "in_channel", "text": text, "blocks": blocks})

    @app.action(RESEND_ANYWAY)
    async def resend_anyway(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                            actor: Actor, attempt_id: str, client: AsyncWebClient) -> None:
        await ack()
        try:
            chosen = parse_anyway_value(str(action.get("value", "")))
        except UsageError as error:
            await respond(response_type="ephemeral", replace_original=False,
                          text=":warning: That button carries no valid message ids; run /resend again.")
            await services.audit.record("resend", AuditOutcome.INVALID, actor,
                                        arguments={"value": str(action.get("value", "")), "force": True},
                                        error=str(error), attempt_id=attempt_id)
            return
        held = await hold(services, client, actor, attempt_id, "resend",
                          {"ids": list(chosen), "overriding": {str(key): value for key, value in chosen.items()}},
                          described(list(chosen), chosen), count=len(chosen),
                          audit={"communication_id": ",".join(map(str, chosen))},
                          fallback=lambda message: respond(**message))  # a channel the bot is not in
        if held is not None:
            await respond(response_type="ephemeral", replace_original=False, text=held)
            return
        ticket = services.budget.admit(actor.user_id, len(chosen))
        if isinstance(ticket, Busy):
            await respond(response_type="ephemeral", replace_original=False, text=ticket.text())
            await services.audit.record_busy("resend", actor, ticket, arguments={"value": str(action.get("value", "")),
                                             "force": True}, attempt_id=attempt_id)
            return
        with ticket:
            outcomes = await services.resend.resend_many(list(chosen), actor, overriding=chosen,
                                                         attempt_id=attempt_id, ticket=ticket)
        blocks = (body.get("message") or {}).get("blocks") or []
        updated = after_anyway(blocks, action.get("block_id", ""), outcomes, actor.user_id, services.clock())
        await respond(replace_original=True, text=summary_text(outcomes), blocks=updated)
