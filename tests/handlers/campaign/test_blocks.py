"""Campaign names, ids, user names and error texts from Comm or Slack are shown as written in every reply."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.actor import Actor
from bot.campaigns.args import AmbiguousCampaign, NoSuchCampaign
from bot.campaigns.plan import Op, plan
from bot.campaigns.service import CampaignList, ChangeStatus, StopOutcome, ToggleOutcome
from bot.vendors.comm.models import Campaign
from bot.vendors.errors import Unavailable
from handlers.campaign import blocks as ui
from tests.handlers.hostile import ESCAPED, HOSTILE, assert_inert

ID = "b12d04e8-7e6f-5b9d-b8de-3cf6dd0d3a16"
SEND = "0c0d7a0e-3c8a-4b7e-9d3e-1c2b3a4d5e6f"
AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ALICE = Actor("U0ALICE01", HOSTILE, "T0TEAM001", "C0OPS0001")


def campaign(name: str = HOSTILE, *, send_type: str = "multistep", active: bool = True, **extra: Any) -> Campaign:
    meta: dict[str, Any] = {"send_type": send_type, "segment_ids": [], "manual_data": None,
            "multistep_data": {"step_size": 200, "step_delay": 5, "is_active": active} if send_type == "multistep"
            else None, "planner_data": None,
            "multistep_status": {"current_step": 3, "total_sent": 600, "status_reason": HOSTILE}}
    return Campaign.from_raw({"id": ID, "name": name, "meta": meta, "status": "in_progress", **extra})


def confirm_dialogs(reply: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for block in reply.get("blocks") or []:
        for element in [block.get("accessory"), *(block.get("elements") or [])]:
            if isinstance(element, dict) and "confirm" in element:
                found.append(element["confirm"])
    return found


def toggled(outcome: ChangeStatus, **extra: Any) -> ToggleOutcome:
    target = campaign(active=False)
    return ToggleOutcome(Op.PAUSE, outcome, ID, ALICE, AT, campaign=target,
                         changes=plan(campaign(), Op.PAUSE).changes, **extra)


def test_the_pause_outcome_in_the_channel_shows_the_name_and_the_clicker_as_written() -> None:
    reply = ui.toggle_reply(toggled(ChangeStatus.CHANGED))
    assert reply["response_type"] == "in_channel"
    shown = assert_inert(reply, live={"<@U0ALICE01>"})
    assert reply["text"] == f"{ESCAPED} paused {ESCAPED}"  # the notification: user name and campaign name
    assert f"<@U0ALICE01> paused *{ESCAPED}*" in shown  # the bot's own mention stays live
    assert "<!date^" in shown
    resume = confirm_dialogs(reply)[0]
    assert resume["title"]["text"].startswith("Resume &lt;!channel&gt; Tom &amp; Jerry")


def test_every_toggle_outcome_escapes_the_name_and_the_vendor_error() -> None:
    error = Unavailable(f"Comm is unavailable right now: {HOSTILE}", vendor="Comm", maybe_applied=True)
    for status in (ChangeStatus.FAILED, ChangeStatus.UNCERTAIN, ChangeStatus.UNVERIFIED, ChangeStatus.CONFLICT):
        reply = ui.toggle_reply(toggled(status, error=error))
        assert ESCAPED in assert_inert(reply, live={"<@U0ALICE01>"}), status
    unknown = ToggleOutcome(Op.PAUSE, ChangeStatus.FAILED, HOSTILE, ALICE, AT, error=error)
    assert_inert(ui.toggle_reply(unknown))


def test_a_forged_user_id_is_not_made_a_mention() -> None:
    forged = Actor("U1|<!channel>", "mallory")
    reply = ui.toggle_reply(ToggleOutcome(Op.PAUSE, ChangeStatus.CHANGED, ID, forged, AT, campaign=campaign()))
    assert "U1|&lt;!channel&gt; paused" in assert_inert(reply)


def test_previews_and_their_confirm_dialogs_escape_the_name() -> None:
    for reply in (ui.toggle_preview(campaign(), Op.PAUSE, None, AT), ui.toggle_preview(campaign(), Op.RESUME, None, AT),
                  ui.stop_preview(campaign(), SEND), ui.status_reply(campaign(), AT),
                  ui.not_pausable_reply(campaign(send_type="manual"), SEND)):
        shown = assert_inert(reply)
        assert ESCAPED in shown and ESCAPED in reply["text"]
        for dialog in confirm_dialogs(reply):
            assert HOSTILE not in str(dialog)
    stop = confirm_dialogs(ui.stop_preview(campaign(), SEND))[0]
    assert stop["text"]["text"] == f"Send {SEND} of “{ESCAPED}” stops now and cannot be resumed."
    pause = confirm_dialogs(ui.toggle_preview(campaign(), Op.PAUSE, None, AT))[0]
    assert pause["title"]["text"].startswith("Pause &lt;!channel&gt;") and len(pause["title"]["text"]) <= 100


def test_the_not_pausable_reason_keeps_its_placeholders() -> None:
    shown = assert_inert(ui.not_pausable_reply(campaign("Flash sale", send_type="manual"), None))
    assert "`/campaign stop &lt;campaign&gt; &lt;sendId&gt;`" in shown


def test_stop_outcomes_escape_the_name_the_send_and_the_error() -> None:
    error = Unavailable(f"Comm said {HOSTILE}", vendor="Comm", maybe_applied=True)
    for outcome in (StopOutcome(ID, SEND, ALICE, AT, campaign=campaign()),
                    StopOutcome(ID, SEND, ALICE, AT, campaign=campaign(), error=error),
                    StopOutcome(ID, HOSTILE, ALICE, AT, error=Unavailable("no", vendor="Comm"))):
        assert ESCAPED in assert_inert(ui.stop_reply(outcome), live={"<@U0ALICE01>"})


def test_lists_and_lookups_escape_what_the_person_typed() -> None:
    listing = CampaignList([campaign()], 1)
    assert ESCAPED in assert_inert(ui.list_reply(listing, HOSTILE, 1, AT))
    for reply in (ui.ambiguous_reply(AmbiguousCampaign(HOSTILE, [campaign(), campaign()]), "pause"),
                  ui.no_such_reply(NoSuchCampaign(HOSTILE, [campaign()])), ui.problem_reply(HOSTILE)):
        assert ESCAPED in reply["text"] and ESCAPED in assert_inert(reply)
