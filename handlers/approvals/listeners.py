"""Approve and Reject: whoever clicks is checked here, on the server, for every click (the buttons are open in the
routes: an approver need not hold a grant for the action, only be named in its ``[[approval]]``). The request is
read from the store by the id the button carries, never from the message; a value the bot never made, or an id it
does not know, is a clear refusal. The decision itself is bot.approvals' (one claim, so it runs once)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.actor import Actor
from bot.approvals.service import ApprovalRequest, Decided, State, Verdict
from bot.audit.log import AuditOutcome
from bot.services import Services
from handlers.middleware.authorize import OPEN, Routes
from handlers.middleware.early_ack import Listeners
from handlers.ui.approval import APPROVE, REJECT, decided_message, read_button_value, who_may_approve
from handlers.ui.formatting import mention, slack_date

log = logging.getLogger("commops.handlers.approvals")

ROUTES = Routes(actions={APPROVE: OPEN, REJECT: OPEN})


def refusal(decided: Decided) -> str | None:
    """What the clicker alone is told when the click decided nothing."""
    request = decided.request
    if decided.verdict is Verdict.UNKNOWN or request is None:
        return (":no_entry: This approval request is not one the bot knows (pruned after RETENTION_DAYS, or the "
                "button is forged or from another bot), so nothing was done. Ask again if it is still needed.")
    if decided.verdict is Verdict.REQUESTER:
        return (f":no_entry: You asked for this, so someone else must approve it: {who_may_approve(request)}. "
                "Nothing was done.")
    if decided.verdict is Verdict.NOT_APPROVER:
        return (f":no_entry: Only {who_may_approve(request)} may approve or reject this request, so nothing was "
                "done. Approvers are named in the access policy's [[approval]] tables.")
    if decided.verdict is Verdict.EXPIRED:
        return (f":hourglass: This request expired {slack_date(request.expires_at)}, so it can no longer be approved "
                "and nothing was done. Ask again if it is still needed.")
    if decided.verdict is Verdict.DECIDED:
        by = mention(request.decided_by) if request.decided_by else "someone"
        verb = "rejected" if request.state is State.REJECTED else "approved"
        return f":information_source: {by} already {verb} this request; your click did nothing."
    return None


def register(app: Listeners, services: Services) -> None:
    async def show(client: AsyncWebClient, body: dict[str, Any], respond: AsyncRespond, request: ApprovalRequest,
                   decided: Decided) -> None:
        """Redraw the request message from the store (never from what the click carried): where the bot posted it,
        never the message the click names (a click carrying one request's id from another message must not
        overwrite that one); one posted through a response URL, by the click's own response URL."""
        message = decided_message(request, decided.executed, services.clock())
        channel, ts = request.requester.channel_id or "", request.message_ts or ""
        if channel and ts:
            try:
                await client.chat_update(channel=channel, ts=ts, **message)
                return
            except SlackApiError as error:
                log.warning("could not update approval request %s: %s", request.id, error.response.get("error"))
        clicked = str((body.get("message") or {}).get("ts") or "")
        if ts and clicked != ts:
            return  # the click came from elsewhere: its response URL would replace that other message
        try:
            await respond(replace_original=True, **message)
        except Exception as error:  # the decision stands and is audited; only the message is behind
            log.warning("could not redraw approval request %s: %s", request.id, type(error).__name__)

    async def decide(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                     actor: Actor, attempt_id: str, client: AsyncWebClient) -> None:
        await ack()
        approvals = services.approvals
        value = str(action.get("value", ""))
        request_id = read_button_value(value)
        if approvals is None or request_id is None:
            await respond(response_type="ephemeral", replace_original=False,
                          text=":no_entry: That button carries no approval request the bot made, so nothing was done.")
            await services.audit.record("approval.decide", AuditOutcome.INVALID, actor,
                                        arguments={"value": value[:200]}, error="not a button value the bot made",
                                        attempt_id=attempt_id)
            return
        decided = await approvals.decide(request_id, actor, approve=action.get("action_id") == APPROVE)
        text = refusal(decided)
        if text is not None:
            await respond(response_type="ephemeral", replace_original=False, text=text)
        request = decided.request
        if request is None or decided.verdict in (Verdict.UNKNOWN, Verdict.REQUESTER, Verdict.NOT_APPROVER):
            return
        if decided.verdict is Verdict.DECIDED and request.state is State.APPROVED:
            return  # being carried out by the click that won: it shows the outcome when done
        await show(client, body, respond, request, decided)

    app.action(APPROVE)(decide)
    app.action(REJECT)(decide)


def redraw_expired(client: AsyncWebClient, services: Services) -> Callable[[ApprovalRequest], Awaitable[None]]:
    """How the expiry sweep (bot/approvals/sweeper.py) redraws a request that expired unanswered: its message,
    where the bot posted it, without its buttons. One posted through a response URL is redrawn by a click on it."""
    async def redraw(request: ApprovalRequest) -> None:
        channel, ts = request.requester.channel_id or "", request.message_ts or ""
        if channel and ts:
            await client.chat_update(channel=channel, ts=ts, **decided_message(request, None, services.clock()))

    return redraw
