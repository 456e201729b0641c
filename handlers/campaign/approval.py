"""Pause, Resume (the Undo too) and Stop under the two-person rule: the click that would carry them out holds them
for approval instead, describing the campaign and each flag before and after (or the send to stop); once approved,
they run through the same CampaignService calls as a direct click, as the requester, against what the button showed
(a campaign changed since is found changed, and left alone).

A scheduled pause or resume (``pause … for|until|at``, ``resume … at``) needs the approval when it is scheduled, not
at each run: its confirm click is held, and once approved it is scheduled through ScheduleService as the requester
(a length such as ``for 2h`` counts from the approval; a time that has passed meanwhile is refused)."""

from __future__ import annotations

from bot.approvals.service import ApprovalRequest, Executed, Executor
from bot.campaigns.args import is_uuid
from bot.campaigns.plan import Op, plan
from bot.campaigns.service import CHANGING, CampaignService, ChangeStatus
from bot.services import Services
from handlers.campaign import blocks as ui
from handlers.campaign.later import carry_out_schedule, fallback, read_campaign
from handlers.campaign.values import read_toggle_value
from handlers.middleware.call import Call
from handlers.ui.approval import hold
from handlers.ui.formatting import code


async def hold_toggle(services: Services, call: Call, campaigns: CampaignService, op: Op, campaign_id: str,
                      value: str) -> str | None:
    """The requester's note when the pause or resume waits for approval; None when it needs none."""
    campaign = await read_campaign(campaigns, campaign_id)
    if campaign is not None:
        planned = plan(campaign, op)
        changes = ui.change_lines(planned.changes) if planned.changes else "• no flag changes as it is now"
        lines = [f"{ui.op_icon(op)} *{op.value.capitalize()}* {ui.title(campaign)}, changing:", changes]
    else:
        lines = [f"{ui.op_icon(op)} *{op.value.capitalize()}* campaign {code(campaign_id)} (it could not be read now)"]
    lines.append("_The campaign is read again when it is approved; if it changed since, nothing is saved._")
    return await hold(services, call.client, call.actor, call.attempt_id, f"campaign.{op.value}",
                      {"campaign_id": campaign_id, "value": value}, lines, audit={"campaign_id": campaign_id},
                      fallback=fallback(call))


async def hold_stop(services: Services, call: Call, campaigns: CampaignService, campaign_id: str,
                    send_id: str) -> str | None:
    campaign = await read_campaign(campaigns, campaign_id)
    where = ui.title(campaign) if campaign is not None else f"campaign {code(campaign_id)}"
    lines = [f":no_entry: *Stop* send {code(send_id)} of {where}. A stopped send cannot be resumed: the contacts it "
             "has not reached yet will not get this message from it."]
    return await hold(services, call.client, call.actor, call.attempt_id, "campaign.stop",
                      {"campaign_id": campaign_id, "send_id": send_id}, lines, audit={"campaign_id": campaign_id},
                      fallback=fallback(call))


def register_executors(services: Services) -> None:
    approvals = services.approvals
    if approvals is None:
        return

    def toggler(op: Op) -> Executor:
        async def carry_out(request: ApprovalRequest) -> Executed:
            action_id = request.params.get("schedule")
            if isinstance(action_id, str):
                return await carry_out_schedule(services, request, action_id)
            campaigns = services.campaigns
            found = read_toggle_value(str(request.params.get("value", "")))
            if campaigns is None or found is None:
                return Executed(False, "not carried out: Comm is not configured, or the request is unreadable")
            campaign_id, basis = found
            outcome = await campaigns.toggle(campaign_id, op, request.requester, attempt_id=request.attempt_id,
                                             basis=basis, note={"approval": request.id,
                                                                "approved_by": request.decided_by})
            reply = ui.toggle_reply(outcome)
            ok = outcome.outcome in CHANGING or outcome.outcome is ChangeStatus.ALREADY
            summary = f"{op.value} of {outcome.name}: {outcome.outcome.value}"
            return Executed(ok, summary, blocks=tuple(reply.get("blocks") or ()))

        return carry_out

    for op in Op:
        approvals.register(f"campaign.{op.value}", toggler(op))

    async def stop(request: ApprovalRequest) -> Executed:
        campaigns = services.campaigns
        campaign_id = str(request.params.get("campaign_id", ""))
        send_id = str(request.params.get("send_id", ""))
        if campaigns is None or not (is_uuid(campaign_id) and is_uuid(send_id)):
            return Executed(False, "not carried out: Comm is not configured, or the request is unreadable")
        outcome = await campaigns.stop(campaign_id, send_id, request.requester, attempt_id=request.attempt_id)
        reply = ui.stop_reply(outcome)
        summary = (f"send {send_id} of {outcome.name} stopped" if outcome.stopped
                   else f"stop of send {send_id}: {outcome.error.sentence if outcome.error else 'failed'}")
        return Executed(outcome.stopped, summary, blocks=tuple(reply.get("blocks") or ()))

    approvals.register("campaign.stop", stop)
