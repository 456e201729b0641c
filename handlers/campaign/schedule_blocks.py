"""How scheduled pauses and resumes look in Slack: the preview with its confirm button, what scheduling did,
``/campaign scheduled`` with its Cancel buttons, the status card's line, and a run's outcome in the channel.

Times are shown with ``<!date^…>`` (each reader sees their own time zone); confirm dialogs, which show plain words,
give the time in the zone it was read in. Every campaign name, user name and vendor text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.access.policy import Decision
from bot.campaigns.plan import Basis, Op, activity_of, flag_state, plan
from bot.schedule.actions import Origin, ScheduledAction
from bot.schedule.report import RunReport, RunResult
from bot.schedule.service import Cancelled, CancelOutcome, Scheduled, ScheduleOutcome
from bot.schedule.when import When, WhenKind, zone_of
from bot.vendors.comm.models import Campaign
from handlers.campaign.blocks import (
    Reply,
    change_lines,
    ephemeral,
    in_channel,
    not_pausable_reply,
    op_icon,
    title,
    toggle_buttons,
    toggle_reply,
    unknown_type_note,
)
from handlers.campaign.values import schedule_value
from handlers.ui.formatting import Block, button, code, confirm_dialog, context, escape, mention, section, slack_date

PAUSE_UNTIL = "campaign.pause_until"  # pause now, resume by itself later
SCHEDULE_PAUSE, SCHEDULE_RESUME = "campaign.schedule_pause", "campaign.schedule_resume"
CANCEL_PAUSE, CANCEL_RESUME = "campaign.cancel_pause", "campaign.cancel_resume"
SCHEDULE_ACTIONS = {Op.PAUSE: SCHEDULE_PAUSE, Op.RESUME: SCHEDULE_RESUME}
CANCEL_ACTIONS = {Op.PAUSE: CANCEL_PAUSE, Op.RESUME: CANCEL_RESUME}
LIST_LIMIT = 40  # actions listed by /campaign scheduled (one block each, within Slack's 50)
ALARM = ":alarm_clock:"


def span(length: timedelta) -> str:
    """``2 h``, ``1 d 3 h``, ``45 min``: a length in words, to the minute."""
    minutes = max(round(length.total_seconds() / 60), 0)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return " ".join(part for part in parts if part) or "under a minute"


def in_zone(moment: datetime, zone: str | None) -> str:
    """``2026-11-28 09:00 Europe/London`` (escaped): for a confirm dialog, which shows words rather than
    ``<!date…>``, in the zone the time was read in."""
    place: ZoneInfo | None = zone_of(zone)
    if place is None or zone is None:
        return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return f"{moment.astimezone(place):%Y-%m-%d %H:%M} {escape(zone)}"


def _dialog_when(when: When, due_at: datetime, zone: str | None) -> str:
    if when.spec.duration is not None:
        return f"{span(when.spec.duration)} after you confirm"
    return in_zone(due_at, zone)


def _read_as(when: When, zone: str | None) -> str:
    if when.spec.needs_zone:
        return f"“{escape(when.spec.text)}” read in your Slack time zone, {escape(zone or 'UTC')}"
    return f"“{escape(when.spec.text)}” from now"


def what_later(action: ScheduledAction) -> str:
    """``resumes by itself``, ``pauses``, ``resumes``."""
    if action.origin is Origin.AFTER_PAUSE:
        return "resumes by itself"
    return "pauses" if action.op is Op.PAUSE else "resumes"


def status_lines(pending: Sequence[ScheduledAction]) -> list[str]:
    """The status card's lines on what is scheduled for the campaign (``resumes by itself at …``)."""
    return [f"*Scheduled:* {ALARM} {what_later(action)} {slack_date(action.due_at)} (scheduled by "
            f"{mention(action.scheduler.user_id)} {slack_date(action.created_at)})" for action in pending]


def _others(pending: Sequence[ScheduledAction]) -> str:
    if not pending:
        return ""
    listed = "; ".join(f"{what_later(action)} {slack_date(action.due_at)}" for action in pending[:5])
    return (f"\n:warning: Also scheduled for it: {listed}. Each is checked when it runs: one that finds the "
            "campaign changed by another does nothing.")


def cancel_button(action: ScheduledAction) -> Block:
    dialog = confirm_dialog("Cancel this scheduled action?",
                            f"{escape(action.campaign_name)} {what_later(action)} "
                            f"{in_zone(action.due_at, action.zone)}: it will not happen.", confirm="Cancel it",
                            deny="Keep it")
    return button("Cancel", CANCEL_ACTIONS[action.op], action.id, confirm=dialog)


# The preview --------------------------------------------------------------------------------------------------------


def schedule_preview(campaign: Campaign, op: Op, when: When, due_at: datetime, zone: str | None, read_at: datetime,
                     pending: Sequence[ScheduledAction], resume_grant: Decision | None = None) -> Reply:
    """What ``pause … for|until`` (``op`` pause) or ``pause|resume … at`` would do now and later, with the button
    that confirms it; ``resume_grant``: whether the person may resume (a pause that resumes by itself needs it)."""
    now_and_later = when.kind is not WhenKind.AT
    later_op = Op.RESUME if now_and_later else op
    planned = plan(campaign, op)
    if not planned.pausable:
        return not_pausable_reply(campaign, None)
    if planned.nothing_to_do:
        return ephemeral(f"{escape(campaign.name)} is already {op.past}.", [section(
            f"{op_icon(op)} {title(campaign)} is already {op.past}, so there is nothing to schedule.",
            block_id="campaign-schedule-nothing")])
    if now_and_later and resume_grant is not None and not resume_grant.allowed:
        return ephemeral("You may pause, but not resume: nothing was scheduled.", [section(
            f":no_entry: A pause that resumes by itself resumes as you, and you may not run `campaign.resume` here "
            f"({escape(resume_grant.detail)}). Pause it without a time, or ask someone who may resume.",
            block_id="campaign-schedule-no-resume")])
    if when.spec.duration is not None:  # a length counts from the click
        when_text = f"{span(when.spec.duration)} after you confirm (about {slack_date(due_at)})"
    else:
        when_text = f"{slack_date(due_at)} (in {span(due_at - read_at)}; {_read_as(when, zone)})"
    if now_and_later:
        text = (f"{op_icon(Op.PAUSE)} *Pause* {title(campaign)} now, and *resume it by itself* {when_text}?\n"
                f"*Now* this changes:\n{change_lines(planned.changes)}\n*Then* the bot reads it again and sets the "
                "same flags back, unless the campaign was changed meanwhile (resumed by hand, paused again, "
                "deleted): then it does nothing and says why here.")
        label, action_id = "Pause, resume later", PAUSE_UNTIL
        dialog_text = f"{escape(campaign.name)} pauses now and resumes by itself {_dialog_when(when, due_at, zone)}."
    else:
        text = (f"{ALARM} *{op.value.capitalize()}* {title(campaign)} {when_text}? Nothing changes now. Then the bot "
                f"reads it again and changes:\n{change_lines(planned.changes)}\nunless the campaign was changed "
                "meanwhile: then it does nothing and says why here.")
        label, action_id = f"Schedule {op.value}", SCHEDULE_ACTIONS[op]
        dialog_text = f"{escape(campaign.name)} {op.value}s {_dialog_when(when, due_at, zone)}."
    if planned.unknown_type:
        text += "\n" + unknown_type_note(campaign)
    text += _others(pending)
    listed = "\n".join(f"{change.name}: → {str(change.after).lower()}" for change in planned.changes)
    confirm = confirm_dialog(f"{label} {campaign.name}", f"{dialog_text}\n{escape(listed)}",
                             confirm=label, danger=op is Op.PAUSE)
    value = schedule_value(campaign.id, Basis(flag_state(campaign), read_at), due_at, zone, when.spec.duration)
    confirm_button = button(label, action_id, value, style="danger" if op is Op.PAUSE else "primary",
                            confirm=confirm)
    summary = (f"Pause {escape(campaign.name)} now and resume it by itself later?" if now_and_later
               else f"{later_op.value.capitalize()} {escape(campaign.name)} later?")
    return ephemeral(f"{summary} Confirm with the button.", [
        section(text, block_id=f"campaign-schedule-preview:{campaign.id}"),
        {"type": "actions", "block_id": "campaign-schedule-confirm", "elements": [confirm_button]},
    ])


# What scheduling did ------------------------------------------------------------------------------------------------


def schedule_reply(outcome: ScheduleOutcome) -> Reply:
    request, action, campaign = outcome.request, outcome.action, outcome.campaign
    name = escape(campaign.name if campaign is not None else action.campaign_name if action else request.campaign_id)
    if outcome.status in (Scheduled.NOT_PAUSED, Scheduled.FAILED) and outcome.toggle is not None:
        reply = toggle_reply(outcome.toggle)
        why = ("the pause did not take effect" if outcome.status is Scheduled.NOT_PAUSED
               else escape(outcome.reason or "it could not be stored"))
        note = section(f":warning: Nothing was scheduled: {why}.", block_id="campaign-schedule-not-paused")
        return {**reply, "blocks": [*(reply.get("blocks") or []), note]}
    if outcome.status is Scheduled.SAME_CLICK and action is not None:
        return ephemeral(f"Already scheduled: {name}.", [section(
            f"{ALARM} This button was used already: {escape(action.campaign_name)} {what_later(action)} "
            f"{slack_date(action.due_at)} (scheduled by {mention(action.scheduler.user_id)} "
            f"{slack_date(action.created_at)}; now {escape(action.state.value)}). Nothing more was scheduled.",
            block_id="campaign-schedule-same")])
    if outcome.status is Scheduled.STALE and campaign is not None:
        shown = activity_of(request.basis.state).value if request.basis.known else "unknown"
        last = outcome.last_change
        who = (f" Last {last.op.past} through commops by {mention(last.user_id)} {slack_date(last.at)}."
               if last is not None else "")
        return ephemeral(f"{name} changed after the preview; nothing was scheduled.", [section(
            f":arrows_counterclockwise: {title(campaign)} changed after this preview, so nothing was scheduled: it "
            f"showed the campaign *{shown}*, and it is *{activity_of(flag_state(campaign)).value}* now.{who} Run the "
            "command again to decide.", block_id="campaign-schedule-stale")])
    if outcome.status in (Scheduled.REFUSED, Scheduled.FAILED) or action is None:
        return ephemeral(f"Nothing was scheduled for {name}.", [section(
            f":x: Nothing was scheduled for {name}: {escape(outcome.reason or 'it could not be done')}.",
            block_id="campaign-schedule-refused")])
    return _scheduled(outcome, action)


def _scheduled(outcome: ScheduleOutcome, action: ScheduledAction) -> Reply:
    who = mention(action.scheduler.user_id)
    later = (f"{ALARM} It {what_later(action)} {slack_date(action.due_at)} (in {span(action.due_at - outcome.at)}), "
             f"as {who} scheduled it {slack_date(action.created_at)}, unless it is changed meanwhile."
             f"{_others(outcome.pending)}")
    cancel: Block = {"type": "actions", "block_id": f"campaign-schedule-cancel:{action.id}",
                     "elements": [cancel_button(action)]}
    if outcome.toggle is not None:  # pause … for|until: the pause's own message, then what comes later
        reply = toggle_reply(outcome.toggle)
        blocks = [block for block in reply.get("blocks") or [] if block.get("block_id") != "campaign-undo"]
        campaign = outcome.toggle.campaign
        buttons = toggle_buttons(campaign, outcome.toggle.settled_at) if campaign is not None else []
        cancel["elements"] = [*buttons, cancel_button(action)]  # Resume now, or cancel the resume to come
        return in_channel(f"{reply['text']}; it resumes by itself later",
                          [*blocks, section(later, block_id=f"campaign-schedule:{action.id}"), cancel])
    text = (f"{ALARM} {who} scheduled: {action.op.value} *{escape(action.campaign_name)}* "
            f"({code(action.campaign_id)}) {slack_date(action.due_at)} (in {span(action.due_at - outcome.at)}). "
            "Nothing changes until then; then the bot reads it again, and if it was changed meanwhile it does nothing "
            f"and says why here.{_others(outcome.pending)}")
    return in_channel(f"{escape(action.scheduler.user_name)} scheduled a {action.op.value} of "
                      f"{escape(action.campaign_name)}",
                      [section(text, block_id=f"campaign-schedule:{action.id}"), cancel])


# /campaign scheduled and Cancel ---------------------------------------------------------------------------------------


def scheduled_list_reply(pending: Sequence[ScheduledAction], now: datetime) -> Reply:
    if not pending:
        return ephemeral("Nothing is scheduled.", [section(
            f"{ALARM} Nothing is scheduled. `/campaign pause <campaign> for 2h` pauses now and resumes later; "
            "`/campaign pause|resume <campaign> at <time>` does it later.")])
    shown = pending[:LIST_LIMIT]
    blocks: list[Block] = [context(f"*{len(pending)} scheduled* · soonest first · read {slack_date(now)}")]
    for action in shown:
        text = (f"{op_icon(action.op)} *{escape(action.campaign_name)}* ({code(action.campaign_id)}) "
                f"{what_later(action)} {slack_date(action.due_at)} (in {span(action.due_at - now)})\n"
                f"scheduled by {mention(action.scheduler.user_id)} {slack_date(action.created_at)}")
        blocks.append(section(text, block_id=f"campaign-scheduled:{action.id}", accessory=cancel_button(action)))
    if len(pending) > len(shown):
        blocks.append(context(f"… and {len(pending) - len(shown)} more, due later"))
    return ephemeral(f"{len(pending)} scheduled", blocks)


def cancel_reply(outcome: CancelOutcome) -> Reply:
    action = outcome.action
    if outcome.status is Cancelled.UNKNOWN or action is None:
        return ephemeral("No such scheduled action.", [section(
            ":x: That button names no scheduled action of this kind; `/campaign scheduled` lists them.")])
    what = f"{escape(action.campaign_name)} {what_later(action)} {slack_date(action.due_at)}"
    if outcome.status is Cancelled.GONE:
        when = {"running": "is running now", "done": f"ran {slack_date(action.finished_at)}" if action.finished_at
                else "ran", "cancelled": "was cancelled"}.get(action.state.value, action.state.value)
        by = (f" by {mention(action.cancelled_by)} {slack_date(action.cancelled_at)}"
              if action.cancelled_by and action.cancelled_at else "")
        return ephemeral("It is no longer scheduled.", [section(
            f":information_source: Not cancelled: “{what}” {when}{by}.", block_id="campaign-cancel-gone")])
    return in_channel(f"{escape(outcome.actor.user_name)} cancelled a scheduled action", [section(
        f":no_bell: {mention(outcome.actor.user_id)} cancelled: {what} (scheduled by "
        f"{mention(action.scheduler.user_id)} {slack_date(action.created_at)}) {slack_date(outcome.at)}. "
        "It will not happen.", block_id=f"campaign-cancelled:{action.id}")])


# A run's outcome, posted in the channel it was scheduled in ---------------------------------------------------------


def _run_headline(report: RunReport) -> str:
    name = f"*{escape(report.campaign_name)}* ({code(report.campaign_id)})"
    op = Op(report.op)
    what = "resume by itself" if report.resumes_itself else f"scheduled {op.value}"
    result = report.result
    if result in (RunResult.CHANGED, RunResult.UNVERIFIED, RunResult.CONFLICT):
        head = f"{op_icon(op)} {name} {op.past} {slack_date(report.ran_at)}, as scheduled"
        if result is RunResult.UNVERIFIED:
            head += f"; reading it back failed ({escape(report.reason or 'no answer')}): check its status"
        elif result is RunResult.CONFLICT:
            head += (": :warning: reading it back shows other changes made at the same time ("
                     + escape(", ".join(report.differences[:8])) + ")")
        return head + "."
    if result is RunResult.STALE:
        last = report.last_change
        who = ""
        if last is not None:
            at = datetime.fromisoformat(last["at"])
            who = f" It was last {Op(last['op']).past} by {mention(last['user_id'])} {slack_date(at)}."
            if report.took_over and Op(last["op"]) is op:
                who += " (Most likely by this very action, before the bot stopped while running it.)"
        now = f" It is *{escape(report.now)}* now." if report.now else ""
        return (f":arrows_counterclockwise: Nothing done: the {what} of {name} found it changed since it was "
                f"scheduled.{now}{who}")
    if result is RunResult.FAILED and report.not_found:
        return f":x: Nothing done: Comm no longer has {name} (it was deleted, or moved to another team)."
    if result is RunResult.DENIED:
        return (f":no_entry: Nothing done: {mention(report.scheduler_id)}, who scheduled the {what} of {name}, may no "
                f"longer run `campaign.{op.value}` here ({escape(report.reason or 'denied')}).")
    if result is RunResult.ALREADY:
        return f":information_source: Nothing to do: {name} was already {op.past}."
    if result is RunResult.UNCERTAIN:
        return (f":grey_question: The {what} of {name} was sent, but Comm's answer was lost and reading it back "
                f"failed ({escape(report.reason or 'no answer')}): check its status before doing it by hand.")
    if result is RunResult.NOT_PAUSABLE:
        return f":warning: Nothing done: {name} has no flag the bot can {op.value} any more."
    return f":x: The {what} of {name} did not happen: {escape(report.reason or result.value)}."


def run_message(report: RunReport) -> tuple[str, list[Block]]:
    """The post that tells the channel what a scheduled run found and did, attributed to who scheduled it."""
    lines = [_run_headline(report)]
    if report.changes and report.result in (RunResult.CHANGED, RunResult.UNVERIFIED, RunResult.CONFLICT):
        lines.append("\n".join(f"• `{name}`: {str(before).lower() if before is not None else 'not set'} → "
                               f"{str(after).lower()}" for name, before, after in report.changes))
    if report.late:
        lines.append(f":hourglass_flowing_sand: It ran {span(report.late_by)} late: the bot was not running at "
                     f"{slack_date(report.due_at)}, when it was due.")
    if report.took_over:
        lines.append("_The bot that first ran it stopped mid-run; this one ran it again, with the same checks._")
    check = code(f"/campaign status {report.campaign_id}")
    origin = "the pause that resumes by itself" if report.resumes_itself else f"a {Op(report.op).value} at a set time"
    blocks: list[Block] = [
        section("\n".join(lines), block_id=f"campaign-scheduled-run:{report.action_id}"),
        context(f"{ALARM} Scheduled by {mention(report.scheduler_id)} {slack_date(report.scheduled_at)} "
                f"({origin}), due {slack_date(report.due_at)} · {check}"),
    ]
    text = f"Scheduled {Op(report.op).value} of {escape(report.campaign_name)}: {report.result.value}"
    return text, blocks
