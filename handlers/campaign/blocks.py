"""How Comm campaigns look in Slack: the status card, the list, the pause/resume/stop previews and outcomes.

Every builder returns the keyword arguments for ``respond`` (text, blocks, response_type), so the handler
decides nothing about presentation. What changed a campaign is posted in the channel; what changed nothing
is shown only to the person who asked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.campaigns.args import AmbiguousCampaign, NoSuchCampaign
from bot.campaigns.plan import (
    Activity,
    Basis,
    FlagChange,
    Op,
    activity,
    activity_of,
    blocked_reason,
    dotted,
    flag_state,
    flags,
    not_pausable_reason,
    plan,
    unknown_type,
)
from bot.campaigns.service import CampaignList, ChangeStatus, StopOutcome, ToggleOutcome
from bot.vendors.comm.models import Campaign, PlannerData, SendKind
from handlers.campaign.values import toggle_value
from handlers.middleware.payloads import NotUnderstood, json_object
from handlers.ui.formatting import Block, button, code, confirm_dialog, context, escape, mention, section, slack_date

PAUSE, RESUME, STOP, STATUS = "campaign.pause", "campaign.resume", "campaign.stop", "campaign.status"
LIST_PREVIOUS, LIST_NEXT = "campaign.list_previous", "campaign.list_next"  # one block: action ids must differ
OP_ACTIONS = {Op.PAUSE: PAUSE, Op.RESUME: RESUME}
PAGE_SIZE = 20  # one block per campaign: well inside Slack's 50 blocks with the header and the page buttons
Reply = dict[str, Any]
FINISHED = frozenset({"sent", "failed", "cancelled"})
_ICONS = {Activity.ACTIVE: ":arrow_forward: active", Activity.PAUSED: ":pause_button: paused",
          Activity.PARTLY_PAUSED: ":warning: partly paused", Activity.NOT_PAUSABLE: "manual, no pause"}
MAX_NOTES = 3  # notes on what could not be read, shown per campaign


def _sending(campaign: Campaign, state: Activity) -> str:
    """Whether it is sending, in words: a campaign with no flag says why (manual, unreadable flag, none found)."""
    if state is not Activity.NOT_PAUSABLE:
        return _ICONS[state]
    if blocked_reason(campaign) is not None:
        return ":warning: cannot tell"
    return _ICONS[state] if campaign.kind is SendKind.MANUAL else "no pause flag"


def unread_note(campaign: Campaign) -> str | None:
    """What could not be read of a campaign, as an escaped mrkdwn line (None when everything could)."""
    if campaign.fully_read:
        return None
    shown = [escape(problem) for problem in campaign.problems[:MAX_NOTES]]
    more = f"; and {len(campaign.problems) - MAX_NOTES} more" if len(campaign.problems) > MAX_NOTES else ""
    return f":warning: _Not all of it could be read: {'; '.join(shown)}{more}._"


def unknown_type_note(campaign: Campaign) -> str:
    return (f":warning: Its send type “{escape(campaign.send_type)}” is unknown to the bot: a pause or resume changes "
            "exactly the flags listed, nothing else, and whether Comm honours them for this type is not known.")


def op_icon(op: Op) -> str:
    return ":pause_button:" if op is Op.PAUSE else ":arrow_forward:"


def ephemeral(text: str, blocks: list[Block] | None = None) -> Reply:
    reply: Reply = {"response_type": "ephemeral", "replace_original": False, "text": text}
    if blocks:
        reply["blocks"] = blocks
    return reply


def in_channel(text: str, blocks: list[Block]) -> Reply:
    return {"response_type": "in_channel", "replace_original": False, "text": text, "blocks": blocks}


def title(campaign: Campaign) -> str:
    return f"*{escape(campaign.name or '(no name)')}* ({code(campaign.id) if campaign.id else 'no id'})"


def _bool(value: bool | None) -> str:
    return "not set" if value is None else str(value).lower()


def change_lines(changes: tuple[FlagChange, ...]) -> str:
    return "\n".join(f"• `{change.name}`: {_bool(change.before)} → {_bool(change.after)}" for change in changes)


def toggle_button(campaign: Campaign, op: Op, read_at: datetime) -> Block:
    """Pause or Resume, carrying the flags as shown and ``read_at`` (when they were read): a click on it after the
    campaign changed is shown the change instead of carried out (bot.campaigns.service)."""
    changes = plan(campaign, op).changes
    listed = "\n".join(f"{change.name}: {_bool(change.before)} → {_bool(change.after)}" for change in changes)
    verb = op.value.capitalize()
    warning = f"\nSend type “{escape(campaign.send_type)}” is unknown to the bot." if unknown_type(campaign) else ""
    dialog = confirm_dialog(f"{verb} {campaign.name}",
                            f"{escape(listed)}\nNothing else in the campaign changes.{warning}",
                            confirm=verb, danger=op is Op.PAUSE)
    value = toggle_value(campaign.id, Basis(flag_state(campaign), read_at))
    return button(verb, OP_ACTIONS[op], value, style="danger" if op is Op.PAUSE else "primary", confirm=dialog)


def toggle_buttons(campaign: Campaign, read_at: datetime) -> list[Block]:
    """Pause or Resume, whichever applies (both when some flags are on and some off)."""
    state = activity(campaign)
    ops = {Activity.ACTIVE: [Op.PAUSE], Activity.PAUSED: [Op.RESUME],
           Activity.PARTLY_PAUSED: [Op.PAUSE, Op.RESUME]}.get(state, [])
    return [toggle_button(campaign, op, read_at) for op in ops]


def stop_button(campaign: Campaign, send_id: str) -> Block:
    dialog = confirm_dialog("Stop this send for good?",
                            f"Send {escape(send_id)} of “{escape(campaign.name)}” stops now and cannot be resumed.",
                            confirm="Stop send", danger=True)
    return button("Stop send", STOP, f"{campaign.id}/{send_id}", style="danger", confirm=dialog)


# Status --------------------------------------------------------------------------------------------------------


def _hours(planner: PlannerData) -> str:
    """Days with their sending hours, days sharing a window grouped: ``Mon, Wed, Fri 09:00–18:00``."""
    default = planner.weekly_schedule.get("default")
    groups: dict[str, list[str]] = {}
    for day in planner.days_of_week:
        window = planner.weekly_schedule.get(day) or default
        span = f"{window.start}–{window.end}" if window and window.start and window.end else "hours not set"
        groups.setdefault(span, []).append(day)
    if not groups:
        return "no days chosen"
    return "; ".join(f"{', '.join(days)} {span}" for span, days in groups.items())


def _progress(campaign: Campaign) -> str:
    progress = campaign.view.meta.multistep_status
    if progress is None:
        return "nothing sent yet"
    parts = []
    if progress.current_step is not None:
        parts.append(f"step {progress.current_step}")
    if progress.total_sent is not None:
        of = f" of {progress.total_available_contacts:,}" if progress.total_available_contacts else ""
        share = (f" ({progress.total_sent / progress.total_available_contacts:.0%})"
                 if progress.total_available_contacts else "")
        parts.append(f"{progress.total_sent:,}{of} sent{share}")
    sent_at = progress.last_sent_at
    parts.append(f"last send {slack_date(sent_at)}" if sent_at else "no send yet")
    if progress.status_reason:
        parts.append(escape(progress.status_reason))
    return " · ".join(parts)


def _settings_lines(campaign: Campaign) -> list[str]:
    meta = campaign.view.meta
    lines = []
    steps = meta.multistep_data if campaign.kind is not SendKind.PLANNER else (
        meta.planner_data.multistep_data if meta.planner_data else None)
    if steps is not None and steps.step_size is not None:
        delay = f" every {steps.step_delay} min" if steps.step_delay is not None else ""
        lines.append(f"*Steps:* {steps.step_size:,} messages{delay}")
    if meta.planner_data is not None and campaign.kind in (SendKind.PLANNER, SendKind.UNKNOWN):
        planner = meta.planner_data
        lines.append(f"*Planner:* {escape(_hours(planner))}")
        daily = planner.daily_sms_contact_limit
        weekly = planner.weekly_sms_contact_limit
        lines.append(f"*Contact limits:* {daily if daily is not None else 'no'} a day, "
                     f"{weekly if weekly is not None else 'no'} a week per contact")
    return lines


def status_reply(campaign: Campaign, now: datetime, scheduled: Sequence[str] = ()) -> Reply:
    """The status card; ``scheduled``: mrkdwn lines on what is scheduled for it (handlers/campaign/schedule_blocks)."""
    state = activity(campaign)
    found = flags(campaign)
    fields = [f"*Status:* {escape(campaign.status)}", f"*Send type:* {_send_type(campaign)}",
              f"*Sending:* {_sending(campaign, state)}"]
    lines = [f"{title(campaign)}", " · ".join(fields)]
    if found:
        lines.append("*Flags:* " + " · ".join(f"`{dotted(flag.path)}` {_flag_text(flag.value, flag.readable)}"
                                               for flag in found))
    if not found or state is Activity.NOT_PAUSABLE:
        lines.append(f"_This campaign {escape(not_pausable_reason(campaign))}_")
    elif unknown_type(campaign):
        lines.append(unknown_type_note(campaign))
    note = unread_note(campaign)
    if note is not None:
        lines.append(note)
    lines.append(f"*Progress:* {_progress(campaign)}")
    lines.extend(_settings_lines(campaign))
    lines.extend(scheduled)
    blocks: list[Block] = [section("\n".join(lines), block_id=f"campaign-status:{campaign.id}")]
    buttons = toggle_buttons(campaign, now)
    if buttons:
        blocks.append({"type": "actions", "block_id": f"campaign-actions:{campaign.id}", "elements": buttons})
    blocks.append(context(f"Read from Comm {slack_date(now)}"))
    return ephemeral(escape(f"{campaign.name}: {campaign.status}, {state.value}"), blocks)


# List ----------------------------------------------------------------------------------------------------------


def page_value(page: int, wanted: str | None) -> str:
    return json.dumps({"p": page, "f": wanted or ""}, separators=(",", ":"))


def read_page_value(value: str) -> tuple[int, str | None]:
    try:
        data = json_object(value, "a page button's value")
    except NotUnderstood:
        return 1, None
    page, wanted = data.get("p"), data.get("f")
    if not isinstance(page, int) or isinstance(page, bool) or not isinstance(wanted, str):
        return 1, None
    return min(max(page, 1), 10_000), wanted[:200] or None


def _send_type(campaign: Campaign) -> str:
    """The send type as Comm wrote it, with what the bot makes of it when the spelling differs."""
    written = escape(campaign.send_type)
    kind = campaign.kind
    if kind is SendKind.UNKNOWN:
        return f"{written} (unknown to the bot)"
    return written if campaign.send_type == kind.value else f"{written} ({kind.value})"


def _flag_text(value: bool | None, readable: bool) -> str:
    return _bool(value) if readable else "unreadable"


def _list_item(campaign: Campaign, state: Activity, read_at: datetime, number: int) -> Block:
    text = f"{title(campaign)}\n{escape(campaign.status)} · {_send_type(campaign)} · {_sending(campaign, state)}"
    note = unread_note(campaign)
    if note is not None:
        text += f"\n{note}"
    buttons = toggle_buttons(campaign, read_at)
    accessory: Block | None = buttons[0] if len(buttons) == 1 else (
        button("Details", STATUS, campaign.id) if campaign.id else None)
    # An entry without an id gets a block id of its own: two of them must not collide (Slack refuses that).
    return section(text, block_id=f"campaign:{campaign.id or f'unread-{number}'}", accessory=accessory)


def list_reply(listing: CampaignList, wanted: str | None, page: int, now: datetime) -> Reply:
    shown = listing.campaigns
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    chunk = shown[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    about = f"matching “{escape(wanted)}”" if wanted else "in this Comm team"
    count = f"{len(shown)} of {listing.total}" if wanted else f"{len(shown)}"
    where = f" · page {page} of {pages}" if pages > 1 else ""
    blocks: list[Block] = [context(f"*{count} SMS campaigns* {about}{where} · read {slack_date(now)}")]
    if not chunk:
        hint = " Filters: `active`, `paused`, a status, a send type, or part of a name." if wanted else ""
        blocks.append(section(f"No campaigns {about}.{hint}"))
    blocks.extend(_list_item(campaign, listing.activity_of(campaign), now, number)
                  for number, campaign in enumerate(chunk))
    nav = []
    if page > 1:
        nav.append(button("◀ Previous", LIST_PREVIOUS, page_value(page - 1, wanted)))
    if page < pages:
        nav.append(button("Next ▶", LIST_NEXT, page_value(page + 1, wanted)))
    if nav:
        blocks.append({"type": "actions", "block_id": "campaign-pages", "elements": nav})
    return ephemeral(f"{len(shown)} SMS campaigns {about}", blocks)


# Previews (before the confirm click) ---------------------------------------------------------------------------


def toggle_preview(campaign: Campaign, op: Op, send_id: str | None, read_at: datetime) -> Reply:
    """What pausing (resuming) would change, with the confirm button; ``read_at``: when ``campaign`` was read."""
    planned = plan(campaign, op)
    if not planned.pausable:
        return not_pausable_reply(campaign, send_id)
    if planned.nothing_to_do:
        other = [toggle_button(campaign, op.opposite, read_at)]
        return ephemeral(f"{escape(campaign.name)} is already {op.past}.", [
            section(f"{op_icon(op)} {title(campaign)} is already {op.past}: "
                    + ", ".join(f"`{dotted(flag.path)}` is {_bool(flag.value)}" for flag in flags(campaign))
                    + ". Nothing to change.", block_id="campaign-already", accessory=other[0])])
    text = (f"{op_icon(op)} *{op.value.capitalize()}* {title(campaign)}? This changes:\n"
            f"{change_lines(planned.changes)}\nNothing else in the campaign changes. The campaign is read again "
            "when you confirm.")
    if planned.unknown_type:
        text += "\n" + unknown_type_note(campaign)
    if campaign.status in FINISHED:
        text += (f"\n:warning: Its status is *{escape(campaign.status)}*: the flags change, but whether Comm sends "
                 "again is up to Comm.")
    return ephemeral(f"{op.value.capitalize()} {escape(campaign.name)}? Confirm with the button.", [
        section(text, block_id=f"campaign-preview:{campaign.id}"),
        {"type": "actions", "block_id": "campaign-confirm", "elements": [toggle_button(campaign, op, read_at)]},
    ])


def not_pausable_reply(campaign: Campaign, send_id: str | None) -> Reply:
    text = f":warning: {title(campaign)} {escape(not_pausable_reason(campaign))}"
    blocks = [section(text, block_id="campaign-not-pausable")]
    if send_id is not None:
        blocks.append(section(f":warning: To stop send {code(send_id)} instead: "
                              f"{code(f'/campaign stop {campaign.id} {send_id}')}"
                              " or the button. *A stopped send cannot be resumed.*", block_id="campaign-offer-stop",
                              accessory=stop_button(campaign, send_id)))
    return ephemeral(f"{escape(campaign.name)} cannot be paused.", blocks)


def stop_preview(campaign: Campaign, send_id: str) -> Reply:
    text = (f":warning: *Stop* send {code(send_id)} of {title(campaign)}? *A stopped send cannot be resumed*: the "
            "contacts it has not reached yet will not get this message from it.")
    return ephemeral(escape(f"Stop send {send_id} of {campaign.name}? Confirm with the button."), [
        section(text, block_id=f"campaign-stop-preview:{campaign.id}"),
        {"type": "actions", "block_id": "campaign-stop-confirm", "elements": [stop_button(campaign, send_id)]},
    ])


# Outcomes ------------------------------------------------------------------------------------------------------


def _differences(item: ToggleOutcome, limit: int = 8) -> str:
    lines = [f"• `{diff.name}`: saved {json.dumps(diff.sent)}, Comm now has {json.dumps(diff.found)}"
             for diff in item.differences[:limit]]
    if len(item.differences) > limit:
        lines.append(f"• … and {len(item.differences) - limit} more")
    return escape("\n".join(lines))


def toggle_reply(item: ToggleOutcome) -> Reply:
    who, when = mention(item.actor.user_id), slack_date(item.at)
    campaign, op = item.campaign, item.op
    heading = title(campaign) if campaign is not None else f"campaign {code(item.campaign_id)}"
    check = code(f"/campaign status {item.campaign_id}")
    name = escape(item.name)
    error = escape(item.error.sentence) if item.error is not None else ""
    icon = op_icon(op)
    if item.outcome is ChangeStatus.NOT_PAUSABLE and campaign is not None:
        return not_pausable_reply(campaign, None)
    if item.outcome is ChangeStatus.ALREADY and campaign is not None:
        return toggle_preview(campaign, op, None, item.settled_at)
    if item.outcome is ChangeStatus.STALE and campaign is not None:
        return stale_reply(item, campaign)
    if item.outcome is ChangeStatus.FAILED:
        lost = " Its answer was lost, but a fresh read shows the campaign unchanged." if item.answer_lost else ""
        return ephemeral(f"Could not {op.value} {name}.", [
            section(f":x: Could not {op.value} {heading}: {error}{lost}", block_id="campaign-failed")])
    lines = {
        ChangeStatus.CHANGED: f"{icon} {who} {op.past} {heading} {when}.\n{change_lines(item.changes)}\n"
                         f"_Read back from Comm: {op.past}, nothing else changed._",
        ChangeStatus.CONFLICT: f":warning: {who} {op.past} {heading} {when}, but reading it back shows a different "
                          "campaign: someone or something changed it at the same time.\n"
                          f"{_differences(item)}\nCheck it with {check}.",
        ChangeStatus.UNVERIFIED: f"{icon} {who} {op.past} {heading} {when}: Comm accepted it.\n"
                            f"{change_lines(item.changes)}\n:warning: Reading it back failed ({error}); check with "
                            f"{check}.",
        ChangeStatus.UNCERTAIN: f":grey_question: {who} asked to {op.value} {heading} {when}: {error} Reading it back "
                           "failed too, so it is not known whether it is "
                           f"{op.past}. Check with {check} before trying again.",
    }
    text = lines.get(item.outcome)
    if text is None:  # every outcome that changed nothing was answered above
        return ephemeral(f"{op.value.capitalize()} of {name}: {item.outcome.value}.")
    if item.answer_lost and item.outcome is ChangeStatus.CHANGED:
        text += f"\n:warning: Comm's answer to the save was lost ({error}); the read-back shows it took effect."
    blocks = [section(text, block_id=f"campaign-outcome:{item.campaign_id}")]
    if campaign is not None and item.outcome is not ChangeStatus.UNCERTAIN:
        buttons = toggle_buttons(campaign, item.settled_at)  # after a pause: Resume (the undo), and the other way round
        if buttons:
            blocks.append({"type": "actions", "block_id": "campaign-undo", "elements": buttons})
    summary = f"{escape(item.actor.user_name or item.actor.user_id)} {op.past} {name}"
    if item.outcome is not ChangeStatus.CHANGED:
        summary = f"{op.value.capitalize()} of {name}: {item.outcome.value}"
    return in_channel(summary, blocks)


_STATE_WORDS = {Activity.ACTIVE: "active", Activity.PAUSED: "paused", Activity.PARTLY_PAUSED: "partly paused",
                Activity.NOT_PAUSABLE: "not pausable"}


def stale_reply(item: ToggleOutcome, campaign: Campaign) -> Reply:
    """The campaign changed after the clicked button was made: what it showed, what is true now, who changed it
    last, and (from :func:`toggle_preview`) the decision to make again, with a fresh button."""
    basis, last, op = item.basis, item.last_change, item.op
    now = _STATE_WORDS[activity(campaign)]
    if basis is not None and basis.known:
        lines = [f":arrows_counterclockwise: {title(campaign)} changed after this button was made, so nothing was "
                 f"done: it showed the campaign *{_STATE_WORDS[activity_of(basis.state)]}*, and it is *{now}* now."]
    else:
        lines = [f":arrows_counterclockwise: This button comes from an older message that does not say what it "
                 f"showed, so nothing was done: {title(campaign)} is *{now}* now."]
    if last is not None:
        how = "" if last.result is ChangeStatus.CHANGED else f" ({last.result.value}: check its status)"
        lines.append(f"Last {last.op.past} through commops by {mention(last.user_id)} {slack_date(last.at)}{how}.")
        if basis is not None and basis.known and last.at <= basis.read_at:
            lines.append("That was before the button was made: the change since was made in Comm itself.")
    else:
        lines.append("commops never paused or resumed it: the change was made in Comm itself.")
    lines.append("Decide again below.")
    fresh = toggle_preview(campaign, op, None, item.settled_at)
    summary = f"{escape(campaign.name)} changed after the button was made; nothing was done."
    return ephemeral(f"{summary} {fresh['text']}",
                      [section("\n".join(lines), block_id="campaign-stale"), *fresh.get("blocks", [])])


def stop_reply(item: StopOutcome) -> Reply:
    heading = title(item.campaign) if item.campaign is not None else f"campaign {code(item.campaign_id)}"
    who, send, name = mention(item.actor.user_id), code(item.send_id), escape(item.name)
    if item.error is None:
        status = f" Comm reports it {escape(item.result.status)}." if item.result and item.result.status else ""
        text = (f":no_entry: {who} stopped send {send} of {heading} "
                f"{slack_date(item.at)}.{status} A stopped send cannot be resumed.")
        return in_channel(f"Send {escape(item.send_id)} of {name} stopped",
                           [section(text, block_id="campaign-stopped")])
    if item.error.maybe_applied:
        text = (f":grey_question: {who} asked to stop send {send} of {heading} "
                f"{slack_date(item.at)}: {escape(item.error.sentence)}")
        return in_channel(f"Stop of send {escape(item.send_id)}: unknown result",
                           [section(text, block_id="campaign-stop")])
    return ephemeral(f"Could not stop send {escape(item.send_id)}.", [
        section(f":x: Could not stop send {send} of {heading}: {escape(item.error.sentence)}",
                block_id="campaign-stop-failed")])


# Finding a campaign --------------------------------------------------------------------------------------------


def ambiguous_reply(error: AmbiguousCampaign, verb: str) -> Reply:
    shown = error.candidates[:10]
    lines = [f"• {title(campaign)} · {escape(campaign.status)}" for campaign in shown]
    if len(error.candidates) > len(shown):
        lines.append(f"• … and {len(error.candidates) - len(shown)} more")
    text = (f":grey_question: “{escape(error.ref)}” matches {len(error.candidates)} campaigns; say which one (by "
            f"its id, or its full name in quotes), e.g. {code(f'/campaign {verb} {error.candidates[0].id}')}:\n"
            + "\n".join(lines))
    return ephemeral(f"“{escape(error.ref)}” matches {len(error.candidates)} campaigns.", [section(text)])


def no_such_reply(error: NoSuchCampaign) -> Reply:
    text = f":x: No campaign in this Comm team is called “{escape(error.ref)}”."
    if error.similar:
        text += " Did you mean: " + ", ".join(title(campaign) for campaign in error.similar) + "?"
    else:
        text += " `/campaign list` shows them all."
    return ephemeral(f"No campaign called “{escape(error.ref)}”.", [section(text)])


def problem_reply(sentence: str) -> Reply:
    return ephemeral(escape(sentence), [section(f":x: {escape(sentence)}")])
