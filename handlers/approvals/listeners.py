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
from handlers.middleware.call import Call
from handlers.middleware.early_ack import Listeners
from handlers.ui.approval import APPROVE, REJECT, decided_message, read_button_value, who_may_approve
from handlers.ui.formatting import context, escape, mention, slack_date

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
    async def show(client: AsyncWebClient, body: dict[str, Any], respond: AsyncRespond | None,
                   request: ApprovalRequest, decided: Decided) -> None:
        """Redraw the request message from the store (never from what the click carried): where the bot posted it,
        never the message the click names (a click carrying one request's id from another message must not
        overwrite that one); one posted through a response URL, by the click's own response URL."""
        message = decided_message(request, decided.executed, services.clock())
        ts = request.message_ts or ""
        try:
            if await update_posted(client, request, message):
                return
        except SlackApiError as error:
            log.warning("could not update approval request %s: %s", request.id, error.response.get("error"))
        clicked = str((body.get("message") or {}).get("ts") or "")
        if respond is None or (ts and clicked != ts):
            return  # the click came from elsewhere (another message, a Home tab): nothing of it to replace
        try:
            await respond(replace_original=True, **message)
        except Exception as error:  # the decision stands and is audited; only the message is behind
            log.warning("could not redraw approval request %s: %s", request.id, type(error).__name__)

    async def decide(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                     actor: Actor, attempt_id: str, client: AsyncWebClient) -> None:
        await ack()
        # A click on an approver's Home tab has no response URL: the person is told by the one reply path.
        home = (body.get("view") or {}).get("type") == "home"
        call = Call(actor, attempt_id, ack, None if home else respond, client)
        approvals = services.approvals
        value = str(action.get("value", ""))
        request_id = read_button_value(value)
        if approvals is None or request_id is None:
            await call.tell(":no_entry: That button carries no approval request the bot made, so nothing was done.")
            await services.audit.record("approval.decide", AuditOutcome.INVALID, actor,
                                        arguments={"value": value[:200]}, error="not a button value the bot made",
                                        attempt_id=attempt_id)
            return
        decided = await approvals.decide(request_id, actor, approve=action.get("action_id") == APPROVE)
        text = refusal(decided)
        if text is not None:
            await call.tell(text)
        if home:
            await redraw_home(client, body, actor.user_id, str(action.get("block_id") or ""), decided, text)
        request = decided.request
        if request is None or decided.verdict in (Verdict.UNKNOWN, Verdict.REQUESTER, Verdict.NOT_APPROVER):
            return
        if decided.verdict is Verdict.DECIDED and request.state is State.APPROVED:
            return  # being carried out by the click that won: it shows the outcome when done
        await show(client, body, None if home else respond, request, decided)

    app.action(APPROVE)(decide)
    app.action(REJECT)(decide)


def redraw_expired(client: AsyncWebClient, services: Services) -> Callable[[ApprovalRequest], Awaitable[None]]:
    """How the expiry sweep (bot/approvals/sweeper.py) redraws a request that expired unanswered: its message,
    where the bot posted it, without its buttons. One posted through a response URL is redrawn by a click on it."""
    async def redraw(request: ApprovalRequest) -> None:
        await update_posted(client, request, decided_message(request, None, services.clock()))

    return redraw


async def update_posted(client: AsyncWebClient, request: ApprovalRequest, message: dict[str, Any]) -> bool:
    """Replace the request's message where the bot posted it (its stored channel and ts); False when it was not
    posted by the bot (a response URL carried it), so there is nothing of the bot's to update."""
    channel, ts = request.requester.channel_id or "", request.message_ts or ""
    if not (channel and ts):
        return False
    await client.chat_update(channel=channel, ts=ts, **message)
    return True


async def redraw_home(client: AsyncWebClient, body: dict[str, Any], user_id: str, block_id: str, decided: Decided,
                      refused: str | None) -> None:
    """The approver's Home tab after a click on it: the clicked request's buttons give way to what the click did,
    the rest of the tab as Slack sent it (the next open or Refresh draws it anew)."""
    view = body.get("view") or {}
    blocks = [block for block in view.get("blocks") or [] if isinstance(block, dict)]
    if refused is not None:
        done = refused
    elif decided.executed is not None:
        done = f":white_check_mark: You approved it: {escape(decided.executed.summary)}"
    else:
        done = ":no_entry_sign: You rejected it: nothing was done."
    redrawn = [context(done) if block.get("block_id") == block_id else block for block in blocks]
    try:
        await client.views_publish(user_id=user_id, view={"type": "home", "callback_id": view.get("callback_id")
                                                          or "home", "blocks": redrawn})
    except Exception as error:  # the decision stands; the tab catches up on its next open
        log.warning("could not redraw the Home tab of %s: %s", user_id, type(error).__name__)
