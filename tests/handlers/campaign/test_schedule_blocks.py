"""Scheduled pauses and resumes in Slack: every campaign name, user name, typed time and vendor text is shown as
written; only the bot's own mentions and dates stay live; a run's post says who scheduled it and how late it ran."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.access.policy import Decision
from bot.actor import Actor
from bot.campaigns.plan import Basis, Op
from bot.schedule.actions import Origin, ScheduledAction, State
from bot.schedule.report import RunReport, RunResult
from bot.schedule.service import Cancelled, CancelOutcome, Scheduled, ScheduleOutcome, ScheduleRequest
from bot.schedule.when import When, WhenKind, parse_spec
from handlers.campaign import schedule_blocks as ui
from tests.handlers.campaign.test_blocks import ALICE, AT, ID, campaign
from tests.handlers.hostile import ESCAPED, HOSTILE, assert_inert

DUE = AT + timedelta(hours=2)
BOB = Actor("U0BOB0001", HOSTILE, "T0TEAM001", "C0OPS0001")
LIVE = {"<@U0ALICE01>", "<@U0BOB0001>"}


def action(origin: Origin = Origin.AFTER_PAUSE, op: Op = Op.RESUME, **extra: Any) -> ScheduledAction:
    values: dict[str, Any] = {"id": "a" * 32, "campaign_id": ID, "campaign_name": HOSTILE, "op": op,
                              "origin": origin, "due_at": DUE, "state": State.PENDING,
                              "basis": Basis((False,), AT), "scheduler": ALICE, "zone": "Europe/London",
                              "created_at": AT, **extra}
    return ScheduledAction(**values)


def report(result: RunResult, **extra: Any) -> RunReport:
    values: dict[str, Any] = {"action_id": "a" * 32, "campaign_id": ID, "campaign_name": HOSTILE, "op": "resume",
                              "origin": "after_pause", "scheduler_id": ALICE.user_id, "scheduler_name": HOSTILE,
                              "channel_id": "C0OPS0001", "scheduled_at": AT, "due_at": DUE, "ran_at": DUE,
                              "result": result, **extra}
    return RunReport(**values)


def test_the_preview_shows_now_and_later_and_escapes_the_name_and_the_typed_time() -> None:
    when = When(WhenKind.UNTIL, parse_spec(["tomorrow", "09:00"], WhenKind.UNTIL))
    reply = ui.schedule_preview(campaign(), Op.PAUSE, when, DUE, "Europe/London", AT, [action(Origin.AT, Op.PAUSE)])
    shown = assert_inert(reply)
    assert f"*Pause* *{ESCAPED}*" in shown and "*Now* this changes" in shown and "*Then* the bot" in shown
    assert "“tomorrow 09:00” read in your Slack time zone, Europe/London" in shown
    assert "Also scheduled for it: pauses <!date^" in shown
    [dialog] = [element["confirm"] for block in reply["blocks"] if block["type"] == "actions"
                for element in block["elements"]]
    assert "resumes by itself 2026-11-23 14:00 Europe/London" in dialog["text"]["text"]


def test_a_pause_for_a_length_counts_from_the_click() -> None:
    when = When(WhenKind.FOR, parse_spec(["2h"], WhenKind.FOR))
    shown = assert_inert(ui.schedule_preview(campaign(), Op.PAUSE, when, DUE, None, AT, []))
    assert "*resume it by itself* 2 h after you confirm (about <!date^" in shown


def test_without_the_resume_grant_the_preview_refuses() -> None:
    when = When(WhenKind.FOR, parse_spec(["2h"], WhenKind.FOR))
    grant = Decision("campaign.resume", False, "not_granted")
    reply = ui.schedule_preview(campaign(), Op.PAUSE, when, DUE, None, AT, [], grant)
    assert "may not run `campaign.resume`" in assert_inert(reply) and "blocks" in reply
    assert not [block for block in reply["blocks"] if block["type"] == "actions"]


def test_what_scheduling_did_is_posted_with_a_cancel_button() -> None:
    request = ScheduleRequest(ID, Op.PAUSE, Origin.AT, DUE, Basis((True,), AT), None, "k")
    reply = ui.schedule_reply(ScheduleOutcome(Scheduled.SCHEDULED, request, AT, action=action(Origin.AT, Op.PAUSE)))
    assert reply["response_type"] == "in_channel"
    shown = assert_inert(reply, live=LIVE)
    assert f"<@U0ALICE01> scheduled: pause *{ESCAPED}*" in shown and "(in 2 h)" in shown
    cancel = reply["blocks"][-1]["elements"][-1]
    assert (cancel["action_id"], cancel["value"]) == (ui.CANCEL_PAUSE, "a" * 32)
    refused = ui.schedule_reply(ScheduleOutcome(Scheduled.REFUSED, request, AT, campaign=campaign(),
                                                reason=f"it is already paused {HOSTILE}"))
    assert refused["response_type"] == "ephemeral" and ESCAPED in assert_inert(refused)


def test_the_list_and_the_status_line() -> None:
    listing = ui.scheduled_list_reply([action(), action(Origin.AT, Op.PAUSE, id="b" * 32)], AT)
    shown = assert_inert(listing, live=LIVE)
    assert "*2 scheduled*" in shown and f"*{ESCAPED}*" in shown and "resumes by itself <!date^" in shown
    assert [block["accessory"]["action_id"] for block in listing["blocks"] if "accessory" in block] == [
        ui.CANCEL_RESUME, ui.CANCEL_PAUSE]
    assert ui.status_lines([action()]) == [
        f"*Scheduled:* :alarm_clock: resumes by itself <!date^{int(DUE.timestamp())}^{{date_short_pretty}} at "
        f"{{time}}|2026-11-23 14:00 UTC> (scheduled by <@U0ALICE01> <!date^{int(AT.timestamp())}^"
        "{date_short_pretty} at {time}|2026-11-23 12:00 UTC>)"]


def test_cancel_outcomes() -> None:
    done = ui.cancel_reply(CancelOutcome(Cancelled.CANCELLED, action(cancelled_by=BOB.user_id), BOB, AT))
    assert done["response_type"] == "in_channel" and "<@U0BOB0001> cancelled" in assert_inert(done, live=LIVE)
    assert done["text"] == f"{ESCAPED} cancelled a scheduled action"
    gone = ui.cancel_reply(CancelOutcome(Cancelled.GONE, action(state=State.DONE, finished_at=DUE), BOB, AT))
    assert "Not cancelled" in assert_inert(gone) and "ran <!date^" in assert_inert(gone)


def test_a_run_is_attributed_and_says_how_late() -> None:
    late = report(RunResult.CHANGED, ran_at=DUE + timedelta(hours=3), changes=[("meta.multistep_data.is_active",
                                                                                    False, True)])
    text, blocks = ui.run_message(late)
    shown = assert_inert(blocks, live=LIVE)
    assert f"*{ESCAPED}*" in shown and "resumed <!date^" in shown and "as scheduled" in shown
    assert "It ran 3 h late: the bot was not running at <!date^" in shown
    assert "Scheduled by <@U0ALICE01> <!date^" in shown and "the pause that resumes by itself" in shown
    assert text == f"Scheduled resume of {ESCAPED}: changed"


def test_every_run_result_escapes_what_others_wrote() -> None:
    last = {"op": "resume", "user_id": "U0BOB0001", "user_name": HOSTILE, "at": AT.isoformat(), "result": "changed"}
    for result in RunResult:
        _text, blocks = ui.run_message(report(result, reason=f"Comm said {HOSTILE}", last_change=last, now="active",
                                              differences=[HOSTILE]))
        assert_inert(blocks, live=LIVE)
    stale = "\n".join(str(block) for block in ui.run_message(report(RunResult.STALE, last_change=last,
                                                                    now="active"))[1])
    assert "found it changed since it was scheduled" in stale and "last resumed by <@U0BOB0001>" in stale
    gone = str(ui.run_message(report(RunResult.FAILED, not_found=True))[1])
    assert "Comm no longer has" in gone
    denied = str(ui.run_message(report(RunResult.DENIED, reason="no grant covers this user"))[1])
    assert "may no longer run `campaign.resume`" in denied


def test_a_report_survives_its_trip_through_the_store() -> None:
    original = report(RunResult.CHANGED, changes=[("meta.x", None, True)], took_over=True,
                      ran_at=datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
    assert RunReport.from_dict(original.to_dict()) == original
