"""The two-person rule at its edges, over signed HTTP: a request nobody can see is not left waiting, late clicks are
in the audit log, the Home tab lists only what the approver may decide now."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.conftest import Sandbox
from tests.e2e.campaign_support import campaign_bot
from tests.e2e.conftest import ALICE, CHANNEL, Bot
from tests.e2e.test_approvals import (
    GREG,
    LEAD,
    POLICY,
    RESEND,
    SEED,
    TWELVE,
    Clock,
    abot,
    approval_bot,
    ask_resend,
    ask_stop,
    forged,
    press,
    request_message,
    stops,
    text,
    told,
)
from tests.e2e.test_home import open_home
from tests.e2e.test_home import text as home_text
from tests.e2e.test_shortcut import opened_view, posted_message, submit, use_shortcut

__all__ = ["abot"]


async def test_a_request_that_could_not_be_posted_does_not_wait_for_approval(abot: Bot) -> None:
    abot.slack.clear()
    message = posted_message("Undelivered today: " + ", ".join(map(str, TWELVE)))
    assert (await use_shortcut(abot, message)).status_code == 200
    view = await opened_view(abot)
    abot.slack.fail_next("chat.postMessage", "not_in_channel")  # the form has no response URL to fall back on
    assert (await submit(abot, view)).status_code == 200
    await abot.settle()
    form = str(abot.slack.calls("views.update")[-1].args["view"])
    assert "could not post the request" in form and "nothing waits for approval" in form
    # No approver is shown a request they could never find, and nothing can approve it later.
    assert "Nothing waits for your approval." in home_text(await open_home(abot, LEAD))
    rows = await abot.services.audit.query(actions=["approval.*"])
    assert [(row.action, row.outcome) for row in rows] == [("approval.request", "ok"), ("approval.withdrawn", "error")]
    assert rows[0].attempt_id == rows[1].attempt_id
    assert await abot.vendor_calls("/v2/communications/resend") == []


async def test_a_click_too_late_is_in_the_audit_log_with_why(sandbox: Sandbox, tmp_path: Path) -> None:
    clock = Clock()
    async with approval_bot(sandbox, tmp_path, clock=clock) as bot:
        request = await ask_stop(bot)
        await press(bot, request, "approval.reject", LEAD)
        await press(bot, request, "approval.approve", GREG)  # a stale copy of the buttons
        second = await ask_stop(bot)
        clock.ahead = timedelta(minutes=61)
        await press(bot, second, "approval.approve", LEAD)
        assert stops(bot) == []
        rows = await bot.services.audit.query(actions=["approval.decide"])
        assert [(row.user_id, row.outcome, row.error_code) for row in rows] == [
            (GREG[0], "denied", "decided"), (LEAD[0], "denied", "expired")]
        requests = await bot.services.audit.query(actions=["approval.request"])
        assert [row.attempt_id for row in rows] == [row.attempt_id for row in requests]
        assert "rejected already" in (rows[0].error or "")


async def test_the_home_tab_follows_a_policy_reload_like_the_approve_button(abot: Bot) -> None:
    await ask_resend(abot, TWELVE)
    assert f"`{TWELVE[0]}`" in home_text(await open_home(abot, LEAD))
    source = abot.services.access.source
    assert source is not None
    resend_rule = POLICY.index('actions = ["resend"]')  # the lead no longer approves resends; still stops
    source.path.write_text(POLICY[:resend_rule] + POLICY[resend_rule:].replace(LEAD[0], "U0NEWLEAD1"))
    source._recheck = 0  # the next request reads the new version
    await press(abot, request_message(abot), "approval.approve", LEAD)
    assert "Only <@U0NEWLEAD1>" in told(abot, LEAD)
    home = home_text(await open_home(abot, LEAD))
    assert "Nothing waits for your approval." in home and f"`{TWELVE[0]}`" not in home
    assert f"`{TWELVE[0]}`" in home_text(await open_home(abot, ("U0NEWLEAD1", "newlead")))


async def test_resend_anyway_in_a_channel_the_bot_is_not_in_posts_the_request_by_the_response_url(
        sandbox: Sandbox, tmp_path: Path) -> None:
    policy = tmp_path / "approval-policy.toml"
    grant = f'[[grant]]\nactions = ["*"]\nusers = ["{ALICE[0]}"]\n'
    policy.write_text(grant)
    async with campaign_bot(sandbox, tmp_path, access_policy=policy) as bot:
        await bot.command("/resend", str(SEED))
        await bot.reply()
        await bot.command("/resend", str(SEED))
        await bot.reply(lambda call: "Not resent again" in str(call.args))
        policy.write_text(f'{grant}\n[[approval]]\nactions = ["resend"]\napprovers = ["{LEAD[0]}"]\n')
        assert bot.services.access.source is not None
        bot.services.access.source._recheck = 0  # the next request reads the new version
        [with_button] = [message for message in bot.slack.messages(CHANNEL) if "resend.anyway" in str(message)]
        bot.slack.fail_next("chat.postMessage", "not_in_channel")
        await press(bot, with_button, "resend.anyway", ALICE)
        assert "The request is posted" in told(bot, ALICE)
        request = request_message(bot)
        assert f"resend message `{SEED}` *again*" in text(request)
        await press(bot, request, "approval.approve", LEAD)
        assert len(await bot.vendor_calls(RESEND)) == 2


async def test_the_home_tab_says_which_of_your_actions_wait_for_a_second_person(abot: Bot) -> None:
    view = await open_home(abot, ALICE)
    lines = [line for block in view["blocks"] if block.get("type") == "section"
             for line in str(block["text"]["text"]).splitlines()]
    stop = next(line for line in lines if "`campaign.stop`" in line)
    resend = next(line for line in lines if line.startswith(":white_check_mark: `resend`"))
    assert "Waits for a second person's approval" in stop and "ids up" not in stop
    assert "Waits for a second person's approval from 10 ids up" in resend
    assert "second person" not in next(line for line in lines if "`campaign.resume`" in line)


async def test_the_requester_clicking_a_request_too_late_is_told_so_not_to_find_an_approver(
        sandbox: Sandbox, tmp_path: Path) -> None:
    clock = Clock()
    async with approval_bot(sandbox, tmp_path, clock=clock) as bot:
        rejected = await ask_stop(bot)
        await press(bot, rejected, "approval.reject", LEAD)
        await press(bot, rejected, "approval.approve", ALICE)  # her stale copy of the buttons
        assert f"<@{LEAD[0]}> already rejected this request" in told(bot, ALICE)
        assert "someone else must approve" not in told(bot, ALICE)
        bot.slack.clear()
        waiting = await ask_stop(bot)
        clock.ahead = timedelta(minutes=61)
        await press(bot, waiting, "approval.approve", ALICE)
        assert "can no longer be approved" in told(bot, ALICE) and "Ask again" in told(bot, ALICE)
        assert "Expired" in text(request_message(bot))  # redrawn at once: no Approve button left to try
        assert stops(bot) == []


async def test_a_click_carrying_one_request_on_another_message_redraws_only_the_request_s_own(
        sandbox: Sandbox, tmp_path: Path) -> None:
    clock = Clock()
    others = [1746061653596 + 1000 + n for n in range(12)]
    async with approval_bot(sandbox, tmp_path, clock=clock) as bot:
        await ask_resend(bot, TWELVE)
        first = request_message(bot)
        await ask_resend(bot, others)
        second = request_message(bot)
        first_id = next(element["value"] for block in first["blocks"] if block["type"] == "actions"
                        for element in block["elements"])
        clock.ahead = timedelta(minutes=61)
        # Anyone in the channel can read the first request's id; they send it from the second request's message.
        await press(bot, forged(second, first_id), "approval.approve", ("U0OUT00001", "outsider"))
        messages = {message["ts"]: message for message in bot.slack.messages(CHANNEL)}
        assert f"`{others[0]}`" in text(messages[second["ts"]]) and f"`{TWELVE[0]}`" not in text(messages[second["ts"]])
        assert "Expired" in text(messages[first["ts"]])


async def test_an_approved_resend_that_meets_the_guard_says_how_to_send_those_anyway(abot: Bot) -> None:
    await abot.command("/resend", str(TWELVE[0]))  # one id: under the threshold, resent now
    await abot.reply()
    await ask_resend(abot, TWELVE)
    await press(abot, request_message(abot), "approval.approve", LEAD)
    decided = text(request_message(abot))
    assert "Not resent again" in decided and "press *Resend anyway*" in decided
