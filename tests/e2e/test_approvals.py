"""The two-person rule over signed HTTP: a 12-id /resend and a campaign Stop wait for an approver; the requester
and outsiders cannot approve, an approver (or a member of an approver group) can, once; reject, expiry, a campaign
changed meanwhile, a forged button, and a restart in between."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.approvals.sweeper import ExpirySweeper
from bot.audit.report import render
from bot.devtools import slack_payloads as payloads
from bot.devtools.slack_emulator import SlackEmulator
from handlers.approvals.listeners import redraw_expired
from tests.conftest import Sandbox
from tests.e2e.campaign_support import IDS, SENDS, ask, campaign_bot, last_ephemeral, puts, shown
from tests.e2e.conftest import ALICE, BOB, CHANNEL, Bot
from tests.e2e.test_home import headers, open_home
from tests.e2e.test_home import text as home_text
from tests.e2e.test_shortcut import opened_view, posted_message, submit, use_shortcut

LEAD = ("U0LEAD0001", "lead")
GREG = ("U0GREG0001", "greg")  # in the approver group
LEADS = "S0LEADS01"
POLICY = f"""
[[grant]]
actions = ["*"]
users = ["{ALICE[0]}", "{BOB[0]}"]

[[approval]]
actions = ["campaign.stop", "campaign.pause"]
approvers = ["{LEAD[0]}"]
approver_groups = ["{LEADS}"]

[[approval]]
actions = ["resend"]
approvers = ["{LEAD[0]}"]
approver_groups = ["{LEADS}"]
min_ids = 10
"""
SEED, SEED_RESENT = 1746061653596, 1748743190124
RESEND = "/v2/communications/resend"
TWELVE = [SEED, *range(174606165001, 174606165012)]
DIGEST = IDS["Weekly Digest"]
WINBACK = IDS["Winback March"]
RUNNING = SENDS["Weekly Digest"][1]


class Clock:
    def __init__(self) -> None:
        self.ahead = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


@contextlib.asynccontextmanager
async def approval_bot(sandbox: Sandbox, tmp_path: Path, **extra: Any) -> AsyncIterator[Bot]:
    policy = tmp_path / "approval-policy.toml"
    policy.write_text(POLICY)
    async with campaign_bot(sandbox, tmp_path, access_policy=policy, **extra) as bot:
        bot.slack.add_usergroup(LEADS, [GREG[0]])
        yield bot


@pytest.fixture
async def abot(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Bot]:
    async with approval_bot(sandbox, tmp_path) as bot:
        yield bot


def request_message(bot: Bot) -> dict[str, Any]:
    """The latest approval request posted in the channel (as it now stands)."""
    found = [message for message in bot.slack.messages(CHANNEL)
             if any(block.get("block_id") == "approval-head" for block in message.get("blocks") or [])]
    assert found, "no approval request was posted"
    return found[-1]


def text(message: dict[str, Any]) -> str:
    return str(message.get("text", "")) + str(message.get("blocks", ""))


async def press(bot: Bot, message: dict[str, Any], action_id: str, user: tuple[str, str], *,
                value: str | None = None) -> None:
    response = await bot.click(message, action_id=action_id, user=user, value=value)
    assert response.status_code == 200
    await bot.settle()


def told(bot: Bot, user: tuple[str, str]) -> str:
    """Everything the bot told ``user`` alone."""
    return " ".join(str(message.get("text", "")) for message in bot.slack.ephemeral_messages(user=user[0]))


async def audit_story(bot: Bot, attempt_id: str) -> list[tuple[str, str, str]]:
    return [(row.user_id, row.action, row.outcome) for row in await bot.services.audit.query(limit=None)
            if row.attempt_id == attempt_id]


async def ask_resend(bot: Bot, ids: list[int], user: tuple[str, str] = ALICE) -> str:
    bot.slack.clear()
    response = await bot.command("/resend", " ".join(map(str, ids)), user=user)
    assert response.status_code == 200
    note = await bot.reply()
    return str(note.args.get("text", ""))


async def test_a_large_resend_waits_and_runs_once_when_an_approver_approves(abot: Bot) -> None:
    note = await ask_resend(abot, TWELVE)
    assert "needs a second person's approval" in note and f"<@{LEAD[0]}>" in note and f"<!subteam^{LEADS}>" in note
    request = request_message(abot)
    shown_request = text(request)
    assert f"<@{ALICE[0]}> asks to resend" in shown_request
    assert all(f"`{message_id}`" in shown_request for message_id in TWELVE)
    await abot.settle()
    assert await abot.vendor_calls(RESEND) == []  # nothing sent while it waits

    abot.slack.clear()
    await press(abot, request, "approval.approve", ALICE)
    assert "someone else must approve it" in told(abot, ALICE)
    await press(abot, request, "approval.approve", BOB)
    assert f"Only <@{LEAD[0]}>" in told(abot, BOB)
    assert await abot.vendor_calls(RESEND) == []

    await press(abot, request, "approval.approve", LEAD)
    assert len(await abot.vendor_calls(RESEND)) == 12
    decided = text(request_message(abot))
    assert "Approved and carried out" in decided and f"approved by <@{LEAD[0]}>" in decided
    assert f"Requested by <@{ALICE[0]}>" in decided and str(SEED_RESENT) in decided
    assert "approval.approve" not in str([block.get("elements") for block in request_message(abot)["blocks"]])

    rows = await abot.services.audit.query(actions=["approval.request"])
    story = await audit_story(abot, rows[-1].attempt_id or "")
    assert story[0] == (ALICE[0], "approval.request", "ok")
    assert (ALICE[0], "approval.decide", "denied") in story and (BOB[0], "approval.decide", "denied") in story
    assert (LEAD[0], "approval.approve", "ok") in story
    resends = [row for row in story if row[1] == "resend"]  # one row per id, as the requester's own /resend writes
    assert len(resends) == 12 and {row[0] for row in resends} == {ALICE[0]} and (ALICE[0], "resend", "ok") in resends
    assert story[-1] == (LEAD[0], "approval.executed", "ok")
    executed = (await abot.services.audit.query(actions=["approval.executed"]))[-1]
    assert executed.arguments["requested_by"] == ALICE[0] and executed.arguments["approved_by"] == LEAD[0]
    table = render(await abot.services.audit.query(actions=["approval.*"]), "table")  # as `commops audit` prints it
    assert all(action in table for action in ("approval.request", "approval.decide", "approval.approve",
                                              "approval.executed"))
    assert '"approved_by": "U0LEAD0001"' in table


async def test_a_resend_under_the_threshold_is_carried_out_as_before(abot: Bot) -> None:
    response = await abot.command("/resend", str(SEED))
    assert "Resending message 1746061653596" in response.text
    assert str(SEED_RESENT) in shown(await abot.reply())
    assert await abot.services.audit.query(actions=["approval.*"]) == []


async def test_an_action_under_no_rule_is_carried_out_as_before(abot: Bot) -> None:
    await ask(abot, f"resume {WINBACK}")  # campaign.resume is under no rule (it is already active: nothing to do)
    reply = await ask(abot, "pause cart")  # already paused: the usual answer, no request
    assert "is already paused" in shown(reply)
    await abot.settle()
    assert await abot.services.audit.query(actions=["approval.*"]) == []


async def ask_stop(bot: Bot, user: tuple[str, str] = ALICE) -> dict[str, Any]:
    await ask(bot, f"stop weekly {RUNNING}", user=user)
    bot.slack.clear()
    response = await bot.click(last_ephemeral(bot, user), action_id="campaign.stop", user=user)
    assert response.status_code == 200
    note = await bot.reply()
    assert "needs a second person's approval" in str(note.args.get("text"))
    return request_message(bot)


def stops(bot: Bot) -> list[dict[str, Any]]:
    return [call for call in bot.sandbox.state.recorded_calls(method="POST") if "/stop/" in call["path"]]


async def test_a_stop_waits_and_a_group_approver_can_approve_it(abot: Bot) -> None:
    request = await ask_stop(abot)
    assert f"*Stop* send `{RUNNING}` of *Weekly Digest*" in text(request)
    assert abot.sandbox.state.campaigns.sends[RUNNING]["status"] != "stopped"
    await press(abot, request, "approval.approve", GREG)
    assert abot.sandbox.state.campaigns.sends[RUNNING]["status"] == "stopped"
    decided = text(request_message(abot))
    assert f"approved by <@{GREG[0]}>" in decided and f"<@{ALICE[0]}> stopped send `{RUNNING}`" in decided


async def test_two_approvers_at_once_run_it_once(abot: Bot) -> None:
    request = await ask_stop(abot)
    first, second = await asyncio.gather(abot.click(request, action_id="approval.approve", user=LEAD),
                                         abot.click(request, action_id="approval.approve", user=GREG))
    assert first.status_code == second.status_code == 200
    await abot.settle()
    assert len(stops(abot)) == 1
    assert len(await abot.services.audit.query(actions=["approval.executed"])) == 1
    assert "already approved this request" in told(abot, LEAD) + told(abot, GREG)


async def test_reject_does_nothing_and_the_message_says_who(abot: Bot) -> None:
    request = await ask_stop(abot)
    await press(abot, request, "approval.reject", LEAD)
    decided = text(request_message(abot))
    assert "Rejected" in decided and f"rejected by <@{LEAD[0]}> <!date^" in decided
    await press(abot, request, "approval.approve", GREG)  # a stale copy of the buttons
    assert "already rejected" in told(abot, GREG)
    assert stops(abot) == []


async def test_an_expired_request_can_no_longer_be_approved(sandbox: Sandbox, tmp_path: Path) -> None:
    clock = Clock()
    async with approval_bot(sandbox, tmp_path, clock=clock) as bot:
        request = await ask_stop(bot)
        clock.ahead = timedelta(minutes=61)
        await press(bot, request, "approval.approve", LEAD)
        assert "expired" in told(bot, LEAD) and "can no longer be approved" in told(bot, LEAD)
        assert "Expired" in text(request_message(bot))
        assert stops(bot) == []


async def test_a_request_nobody_decides_expires_by_itself_and_its_message_says_so(
        sandbox: Sandbox, tmp_path: Path) -> None:
    clock = Clock()
    async with approval_bot(sandbox, tmp_path, clock=clock) as bot:
        asked_for = await ask_stop(bot)
        assert bot.services.approvals is not None
        # As `commops run` starts it (bot/app.py: start_approval_expiry), swept here by hand on the bot's clock.
        sweeper = ExpirySweeper(bot.services.approvals, redraw_expired(bot.app.client, bot.services), clock=clock)
        assert await sweeper.sweep() == 0  # not due yet
        clock.ahead = timedelta(minutes=61)
        assert await sweeper.sweep() == 1
        assert await sweeper.sweep() == 0  # once
        expired = request_message(bot)
        assert "Expired" in text(expired) and "approval.approve" not in str(expired["blocks"])
        asked = (await bot.services.audit.query(actions=["approval.request"]))[-1]
        rows = await bot.services.audit.query(actions=["approval.expired"])
        assert [(row.user_id, row.attempt_id) for row in rows] == [(ALICE[0], asked.attempt_id)]
        await press(bot, asked_for, "approval.approve", LEAD)  # a stale copy of the buttons
        assert "expired" in told(bot, LEAD)
        assert stops(bot) == []


async def test_a_campaign_changed_between_request_and_approval_is_left_alone(abot: Bot) -> None:
    await ask(abot, "pause winback march")
    abot.slack.clear()
    await abot.click(last_ephemeral(abot), action_id="campaign.pause")
    await abot.reply()
    request = request_message(abot)
    assert "`meta.multistep_data.is_active`: true → false" in text(request)
    abot.sandbox.state.patch_campaign(WINBACK, {"meta": {"multistep_data": {"is_active": False}}})
    await press(abot, request, "approval.approve", LEAD)
    assert puts(abot, WINBACK) == []
    assert "stale" in text(request_message(abot))


def forged(message: dict[str, Any], value: str) -> dict[str, Any]:
    """The request message with its Approve button carrying ``value``, as a forger would send it."""
    button = {"type": "button", "action_id": "approval.approve", "value": value,
              "text": {"type": "plain_text", "text": "Approve"}}
    return {**message, "blocks": [{"type": "actions", "block_id": "forged", "elements": [button]}]}


async def test_a_forged_approve_is_refused(abot: Bot) -> None:
    request = await ask_stop(abot)
    await press(abot, forged(request, "0" * 32), "approval.approve", LEAD)
    assert "not one the bot knows" in told(abot, LEAD)
    await press(abot, forged(request, '{"id": "x"}'), "approval.approve", LEAD)
    assert "carries no approval request the bot made" in told(abot, LEAD)
    rows = await abot.services.audit.query(actions=["approval.decide"])
    assert [(row.user_id, row.outcome) for row in rows] == [(LEAD[0], "denied"), (LEAD[0], "invalid")]
    assert stops(abot) == []
    assert "Approval needed" in text(request_message(abot))


async def test_a_request_survives_a_restart(sandbox: Sandbox, tmp_path: Path) -> None:
    slack = SlackEmulator()
    async with slack.serve():
        async with approval_bot(sandbox, tmp_path, slack=slack) as first:
            request = await ask_stop(first)
        async with approval_bot(sandbox, tmp_path, slack=slack) as second:
            await press(second, request, "approval.approve", LEAD)
            assert sandbox.state.campaigns.sends[RUNNING]["status"] == "stopped"
            assert "Approved and carried out" in text(request_message(second))



async def test_two_replicas_on_one_database_run_an_approval_once(sandbox: Sandbox, tmp_path: Path) -> None:
    slack = SlackEmulator()
    async with slack.serve(), approval_bot(sandbox, tmp_path, slack=slack) as one, \
            approval_bot(sandbox, tmp_path, slack=slack) as two:
        request = await ask_stop(one)
        clicks = await asyncio.gather(one.click(request, action_id="approval.approve", user=LEAD),
                                      two.click(request, action_id="approval.approve", user=GREG))
        assert [click.status_code for click in clicks] == [200, 200]
        await one.settle()
        await two.settle()
        assert len(stops(one)) == 1
        assert len(await one.services.audit.query(actions=["approval.executed"])) == 1


async def test_resend_anyway_waits_when_a_rule_covers_it(sandbox: Sandbox, tmp_path: Path) -> None:
    policy = tmp_path / "approval-policy.toml"
    policy.write_text(f'[[grant]]\nactions = ["*"]\nusers = ["{ALICE[0]}"]\n')
    async with campaign_bot(sandbox, tmp_path, access_policy=policy) as bot:
        await bot.command("/resend", str(SEED))
        await bot.reply()
        await bot.command("/resend", str(SEED))
        duplicate = await bot.reply(lambda call: "Not resent again" in shown(call))
        assert "Resend anyway" in shown(duplicate)
        policy.write_text(f'[[grant]]\nactions = ["*"]\nusers = ["{ALICE[0]}"]\n\n[[approval]]\nactions = '
                          f'["resend"]\napprovers = ["{LEAD[0]}"]\n')
        assert bot.services.access.source is not None
        bot.services.access.source._recheck = 0  # the next request reads the new version
        [with_button] = [message for message in bot.slack.messages(CHANNEL) if "resend.anyway" in str(message)]
        await press(bot, with_button, "resend.anyway", ALICE)
        assert "needs a second person's approval" in told(bot, ALICE)
        assert f"resend message `{SEED}` *again*" in text(request_message(bot))
        assert len(await bot.vendor_calls(RESEND)) == 1
        await press(bot, request_message(bot), "approval.approve", LEAD)
        assert len(await bot.vendor_calls(RESEND)) == 2
        assert "Approved and carried out" in text(request_message(bot))


async def test_in_a_channel_the_bot_is_not_in_the_request_goes_by_the_response_url(abot: Bot) -> None:
    await ask(abot, f"stop weekly {RUNNING}")
    abot.slack.fail_next("chat.postMessage", "not_in_channel")
    await abot.click(last_ephemeral(abot), action_id="campaign.stop")
    await abot.settle()
    request = request_message(abot)  # posted in the channel through the click's response URL
    assert "needs a second person's approval" in told(abot, ALICE)
    abot.slack.fail_next("chat.update", "not_in_channel")
    await press(abot, request, "approval.approve", LEAD)
    assert abot.sandbox.state.campaigns.sends[RUNNING]["status"] == "stopped"
    assert "Approved and carried out" in text(request_message(abot))  # redrawn through the approver's response URL


async def test_an_undo_button_under_a_rule_waits_too(abot: Bot) -> None:
    cart = IDS["Cart Abandonment Nudge"]  # paused; resuming is under no rule, pausing (the undo) is
    await ask(abot, "resume cart")
    abot.slack.clear()
    await abot.click(last_ephemeral(abot), action_id="campaign.resume")
    resumed = await abot.reply()
    assert f"<@{ALICE[0]}> resumed" in shown(resumed)
    [undo] = [message for message in abot.slack.messages(CHANNEL) if "campaign-undo" in str(message.get("blocks"))]
    await press(abot, undo, "campaign.pause", ALICE)
    assert "needs a second person's approval" in told(abot, ALICE)
    assert "*Pause* *Cart Abandonment Nudge*" in text(request_message(abot))
    assert len(puts(abot, cart)) == 1  # only the resume
    await press(abot, request_message(abot), "approval.approve", LEAD)
    assert len(puts(abot, cart)) == 2
    assert f"<@{ALICE[0]}> paused *Cart Abandonment Nudge*" in text(request_message(abot))


async def test_the_resend_from_message_shortcut_waits_for_approval_like_resend(abot: Bot) -> None:
    abot.slack.clear()
    message = posted_message("Undelivered today: " + ", ".join(map(str, TWELVE)))
    assert (await use_shortcut(abot, message)).status_code == 200
    assert (await submit(abot, await opened_view(abot))).status_code == 200  # all twelve ticked
    await abot.settle()
    request = request_message(abot)
    assert f"<@{ALICE[0]}> asks to resend" in text(request)
    assert all(f"`{message_id}`" in text(request) for message_id in TWELVE)
    assert "needs a second person's approval" in str(abot.slack.calls("views.update")[-1].args["view"])
    assert await abot.vendor_calls(RESEND) == []  # nothing sent while it waits

    await press(abot, request, "approval.approve", LEAD)
    assert len(await abot.vendor_calls(RESEND)) == 12
    assert "Approved and carried out" in text(request_message(abot))


async def test_the_home_tab_lists_requests_waiting_for_an_approver(abot: Bot) -> None:
    await ask_resend(abot, TWELVE)
    for_lead, for_greg = await open_home(abot, LEAD), await open_home(abot, GREG)  # named, and through the group
    for view in (for_lead, for_greg):
        assert "Approvals waiting for you" in headers(view)
        assert f"<@{ALICE[0]}> asks to `resend`" in home_text(view) and f"`{SEED}`" in home_text(view)
    assert "Approvals waiting for you" not in headers(await open_home(abot, ALICE))  # she asked; she approves nothing
    await press(abot, request_message(abot), "approval.reject", LEAD)
    assert "Nothing waits for your approval." in home_text(await open_home(abot, LEAD))


def home_click(home: dict[str, Any], action_id: str, user: tuple[str, str]) -> str:
    """A click on the first request's button on ``home`` (an approver's Home tab), as Slack sends it."""
    row = next(block for block in home["blocks"] if str(block.get("block_id", "")).startswith("home-approval:"))
    button = next(element for element in row["elements"] if element["action_id"] == action_id)
    return payloads.block_actions(
        {"type": "button", "action_id": action_id, "value": button["value"], "block_id": row["block_id"]},
        user_id=user[0], user_name=user[1], view=home, trigger_id=payloads.new_trigger_id())


async def test_an_approver_decides_on_the_home_tab_and_the_request_message_follows(abot: Bot) -> None:
    await ask_resend(abot, TWELVE)
    for_lead, for_greg = await open_home(abot, LEAD), await open_home(abot, GREG)
    abot.slack.clear()
    assert (await abot.post(home_click(for_lead, "approval.approve", LEAD))).status_code == 200
    await abot.settle()
    assert len(await abot.vendor_calls(RESEND)) == 12  # carried out once
    assert "Approved and carried out" in text(request_message(abot))  # the request's own message, in its channel
    tab = abot.slack.home_views[LEAD[0]]
    assert "You approved it" in home_text(tab)
    assert not any(str(block.get("block_id", "")).startswith("home-approval:") for block in tab["blocks"])

    abot.slack.clear()
    assert (await abot.post(home_click(for_greg, "approval.approve", GREG))).status_code == 200  # a stale tab
    await abot.settle()
    assert len(await abot.vendor_calls(RESEND)) == 12  # not again
    assert "already approved" in home_text(abot.slack.home_views[GREG[0]])
    told_greg = [call for call in abot.slack.calls("chat.postMessage") if "already approved" in str(call.args)]
    assert told_greg, "the approver who came second is told, though a Home tab has no response URL"


async def test_resend_help_says_from_how_many_ids_a_resend_waits_for_approval(abot: Bot) -> None:
    response = await abot.command("/resend", "help")
    assert "A /resend of 10 ids or more waits for a second person's approval" in response.text


async def test_a_forged_value_on_a_home_tab_click_is_refused_to_the_clicker(abot: Bot) -> None:
    await ask_resend(abot, TWELVE)
    home = await open_home(abot, LEAD)
    row = next(block for block in home["blocks"] if str(block.get("block_id", "")).startswith("home-approval:"))
    abot.slack.clear()
    body = payloads.block_actions(
        {"type": "button", "action_id": "approval.approve", "value": "<!channel> not an id",
         "block_id": row["block_id"]},
        user_id=LEAD[0], user_name=LEAD[1], view=home, trigger_id=payloads.new_trigger_id())
    assert (await abot.post(body)).status_code == 200
    await abot.settle()
    assert await abot.vendor_calls(RESEND) == []
    told_lead = [call for call in abot.slack.calls("chat.postMessage")
                 if "carries no approval request" in str(call.args)]
    assert told_lead and "<!channel>" not in str(told_lead[0].args)
    rows = await abot.services.audit.query(actions=["approval.decide"])
    assert rows[-1].user_id == LEAD[0] and rows[-1].outcome == "invalid"
