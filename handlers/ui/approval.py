"""The two-person rule in Slack, as every family uses it: holding an action for approval (the request message in
the channel, the note to the requester) and the request message in each of its states.

A family's listener, about to carry out an action, calls :func:`needs` (cheap: the policy in force) and, when it
does, describes exactly what will happen and calls :func:`hold`; it then tells the requester the returned text and
does nothing else. The Approve and Reject buttons are served by handlers/approvals/.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.actor import Actor
from bot.approvals.service import ApprovalRequest, Executed, State
from bot.services import Services
from handlers.ui.formatting import (
    button,
    channel_link,
    confirm_dialog,
    context,
    escape,
    grouped_sections,
    mention,
    section,
    slack_date,
)

log = logging.getLogger("commops.handlers.approval")

APPROVE = "approval.approve"
REJECT = "approval.reject"
MAX_BLOCKS = 50
_REQUEST_ID = re.compile(r"[0-9a-f]{32}")
_GROUP_ID = re.compile(r"S[A-Z0-9]{2,}")
WHAT = {
    "resend": "resend undelivered messages", "alerts.resend": "resend alerted messages",
    "campaign.pause": "pause an SMS campaign", "campaign.resume": "resume an SMS campaign",
    "campaign.stop": "stop a campaign's send",
}


def read_button_value(value: str) -> str | None:
    """The request id an Approve or Reject button carries; None for anything the bot does not make."""
    return value if _REQUEST_ID.fullmatch(value) else None


def group_mention(group_id: str) -> str:
    return f"<!subteam^{group_id}>" if _GROUP_ID.fullmatch(group_id) else escape(group_id)


def who_may_approve(request: ApprovalRequest) -> str:
    people = [mention(user) for user in sorted(request.approvers) if user != request.requester.user_id]
    people += [f"a member of {group_mention(group)}" for group in sorted(request.approver_groups)]
    if not people:
        return "nobody but you (ask an admin to name another approver in the access policy)"
    return people[0] if len(people) == 1 else ", ".join(people[:-1]) + " or " + people[-1]


async def needs(services: Services, action: str, count: int = 1) -> bool:
    """Whether a request of ``action`` on ``count`` ids must wait for approval under the policy in force."""
    return services.approvals is not None and await services.approvals.needed(action, count) is not None


async def hold(services: Services, client: AsyncWebClient, actor: Actor, attempt_id: str, action: str,
               params: Mapping[str, Any], description: Sequence[str], *, count: int = 1,
               audit: Mapping[str, Any] | None = None,
               fallback: Callable[[dict[str, Any]], Awaitable[Any]] | None = None) -> str | None:
    """Store an approval request for ``action`` and post it in the requester's channel; the text to tell the
    requester, or None when the action needs no approval (then the caller carries it out as before).
    ``fallback``: another way to post the request in the channel (a command's response URL) if the bot cannot."""
    if services.approvals is None:
        return None
    request = await services.approvals.ask(action, params, description, actor, attempt_id=attempt_id, count=count,
                                           audit=audit)
    if request is None:
        return None
    message = request_message(request)
    posted = False
    if actor.channel_id:
        try:
            answer = await client.chat_postMessage(channel=actor.channel_id, **message)
            await services.approvals.posted(request, str(answer.get("ts") or ""))
            posted = True
        except SlackApiError as error:
            log.warning("could not post approval request %s in %s: %s", request.id, actor.channel_id,
                        error.response.get("error"))
    if not posted and fallback is not None:
        try:
            await fallback({"response_type": "in_channel", "replace_original": False, **message})
            posted = True
        except Exception as error:  # the requester hears of it below
            log.warning("could not post approval request %s by its fallback: %s", request.id, type(error).__name__)
    where = f"in {channel_link(actor.channel_id)}" if actor.channel_id else "here"
    if not posted:
        await services.approvals.withdraw(request, "the request could not be posted in the channel")
        return (f":warning: `{request.action}` needs a second person's approval, and the bot could not post the "
                f"request {where} (invite it to the channel, then ask again). Nothing was done, and nothing waits "
                "for approval.")
    return (f":hourglass_flowing_sand: `{request.action}` needs a second person's approval, so nothing was done yet. "
            f"The request is posted {where}; it can be approved by {who_may_approve(request)} until "
            f"{slack_date(request.expires_at)}.")


def _within(lines: Sequence[str], prefix: str, room: int) -> list[dict[str, Any]]:
    """``lines`` in sections, in at most ``room`` blocks: the last says how many more there are when they do not
    fit (a digest of thousands of ids), so the blocks after them (Approve and Reject) are never cut off."""
    blocks = grouped_sections(list(lines) or ["(no details)"], prefix)
    if len(blocks) <= room:
        return blocks
    kept = blocks[:max(room - 1, 0)]
    shown = sum(str(block["text"]["text"]).count("\n") + 1 for block in kept)
    return [*kept, context(f"… and {len(lines) - shown} more, not shown here: all {len(lines)} are part of it.")]


def decision_buttons(request: ApprovalRequest, block_id: str) -> dict[str, Any]:
    """Approve (with a confirm dialog) and Reject for ``request``: on its message, and on an approver's Home tab."""
    approve = button("Approve", APPROVE, request.id, style="primary", confirm=confirm_dialog(
        "Approve and carry out?", f"This carries out what {escape(request.requester.user_name)} asked for, now, "
        "as shown in the request.", confirm="Approve"))
    return {"type": "actions", "block_id": block_id,
            "elements": [approve, button("Reject", REJECT, request.id, style="danger")]}


def request_message(request: ApprovalRequest) -> dict[str, Any]:
    """The pending request: who asks, exactly what will happen, Approve (with a confirm dialog) and Reject."""
    what = WHAT.get(request.action, request.action)
    blocks = [section(f":raised_hand: *Approval needed*: {mention(request.requester.user_id)} asks to {what} "
                      f"(`{escape(request.action)}`). Exactly this will happen:", block_id="approval-head")]
    blocks += _within(request.description, "approval-what", MAX_BLOCKS - 3)  # head, who and when, the buttons
    blocks.append(context(f"Requested by {mention(request.requester.user_id)} {slack_date(request.created_at)} · "
                          f"may be approved by {who_may_approve(request)} · expires "
                          f"{slack_date(request.expires_at)}"))
    blocks.append(decision_buttons(request, f"approval:{request.id}"))
    text = f"Approval needed: {request.requester.user_name} asks to {what}"
    return {"text": escape(text), "blocks": blocks[:MAX_BLOCKS]}


_HEADS = {
    State.APPROVED: ":white_check_mark: *Approved*", State.EXECUTED: ":white_check_mark: *Approved and carried out*",
    State.REJECTED: ":no_entry_sign: *Rejected*: nothing was done", State.EXPIRED:
    ":hourglass: *Expired*: it can no longer be approved, and nothing was done",
}


def decided_message(request: ApprovalRequest, executed: Executed | None, now: datetime) -> dict[str, Any]:
    """The request once decided (or expired): requested by, decided by, when (each reader's zone), the outcome."""
    head = _HEADS.get(request.state, f"*{escape(request.state.value)}*")
    what = WHAT.get(request.action, request.action)
    blocks = [section(f"{head}: {mention(request.requester.user_id)} asked to {what} (`{escape(request.action)}`):",
                      block_id="approval-head")]
    blocks += _within(request.description, "approval-what", 20)  # room for the outcome below
    people = [f"Requested by {mention(request.requester.user_id)} {slack_date(request.created_at)}"]
    if request.decided_by and request.decided_at is not None:
        verb = "rejected" if request.state is State.REJECTED else "approved"
        people.append(f"{verb} by {mention(request.decided_by)} {slack_date(request.decided_at)}")
    elif request.state is State.EXPIRED:
        people.append(f"expired {slack_date(request.expires_at)}")
    blocks.append(context(" · ".join(people)))
    outcome = executed.summary if executed is not None else request.outcome
    if outcome:
        icon = ":white_check_mark:" if executed is None or executed.ok else ":warning:"
        blocks.append(section(f"{icon} *Outcome* {slack_date(request.executed_at or now)}: {escape(outcome)}",
                              block_id="approval-outcome"))
    if executed is not None:
        room = MAX_BLOCKS - len(blocks) - len(executed.blocks)
        blocks += _within(executed.lines, "approval-result", room) if executed.lines else []
        blocks += list(executed.blocks)
    text = f"{head.split('*')[1] if '*' in head else head}: {request.requester.user_name}'s {request.action}"
    return {"text": escape(text), "blocks": blocks[:MAX_BLOCKS]}
