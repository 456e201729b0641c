"""/resend and its "Resend anyway" button."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.actor import Actor
from bot.audit.log import AuditOutcome
from bot.errors import UsageError
from bot.resend.service import USAGE, parse_anyway_value, parse_message_ids
from bot.services import Services
from bot.work import Busy
from handlers.middleware.authorize import ANY, Routes
from handlers.middleware.call import Call
from handlers.middleware.early_ack import Listeners, answer_only
from handlers.resend.blocks import RESEND_ANYWAY, after_anyway, result_blocks, summary_text
from handlers.ui.formatting import escape

log = logging.getLogger("commops.handlers.resend")

FAILED_REPLY = ("Something went wrong on our side while resending; the ids above without a result were not "
                "confirmed. Check before trying again.")

# Every /resend (but its usage) and every Resend-anyway click resends: both need the `resend` grant.
ROUTES = Routes(commands={"/resend": {ANY: "resend"}}, actions={RESEND_ANYWAY: "resend"})


def register(app: Listeners, services: Services) -> None:
    @app.command("/resend")
    async def resend_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, actor: Actor,
                             attempt_id: str, client: AsyncWebClient) -> None:
        text = (command.get("text") or "").strip()
        if text.lower() in ("", "help", "-h", "--help", "?"):
            await ack(text=escape(USAGE if text else f"{UsageError('Give at least one message id.')}\n\n{USAGE}"))
            return
        try:
            ids = parse_message_ids(text)
        except UsageError as error:
            await ack(text=f":warning: {escape(error)}\n\n{escape(USAGE)}")
            await services.audit.record("resend", AuditOutcome.INVALID, actor, arguments={"text": text},
                                        error=str(error), attempt_id=attempt_id)
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
                            actor: Actor, attempt_id: str) -> None:
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
