"""A scheduled pause under the two-person rule: scheduling waits for the approval, and the run that follows needs
none (the runner carries it out when due, as the requester)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Sandbox
from tests.e2e.campaign_support import ALICE, CHANNEL, IDS, ask, campaign_bot, last_ephemeral, puts, stored
from tests.e2e.test_approvals import LEAD, approval_bot, request_message, text
from tests.e2e.test_campaign_schedule import Clock

WINBACK = IDS["Winback March"]


async def test_a_pause_that_resumes_by_itself_is_approved_once_and_then_runs_by_itself(
        sandbox: Sandbox, tmp_path: Path) -> None:
    clock = Clock()
    async with approval_bot(sandbox, tmp_path, clock=clock, schedule=True) as bot:
        await ask(bot, "pause winback march for 1m")
        bot.slack.clear()
        await bot.click(last_ephemeral(bot), action_id="campaign.pause_until")
        note = await bot.reply()
        assert "needs a second person's approval" in str(note.args.get("text"))
        request = request_message(bot)
        assert "*Pause* *Winback March*" in text(request) and "*resume* it by itself 0:01:00 after the approval" \
            in text(request)
        await bot.settle()
        assert puts(bot, WINBACK) == []

        await bot.click(request, action_id="approval.approve", user=LEAD)
        await bot.settle()
        assert stored(bot, WINBACK)["meta"]["multistep_data"]["is_active"] is False
        decided = text(request_message(bot))
        assert "Approved and carried out" in decided and "It resumes by itself <!date^" in decided

        clock.advance(seconds=61)
        assert bot.runner is not None
        await bot.runner.poll()
        await bot.settle()
        assert stored(bot, WINBACK)["meta"]["multistep_data"]["is_active"] is True
        assert len(puts(bot, WINBACK)) == 2
        assert len([message for message in bot.slack.messages(CHANNEL)
                    if "approval-head" in str(message.get("blocks"))]) == 1  # the run asked nobody again
        rows = await bot.services.audit.query(actions=["campaign.pause", "campaign.resume"])
        story = [(row.user_id, row.action, row.outcome) for row in rows]
        assert story[0] == (ALICE[0], "campaign.pause", "ok") and story[-1] == (ALICE[0], "campaign.resume", "ok")



async def test_a_pause_that_resumes_by_itself_waits_when_only_resuming_needs_approval(
        sandbox: Sandbox, tmp_path: Path) -> None:
    """The automatic resume reaches customers like any resume: a rule on ``campaign.resume`` alone holds it."""
    policy = tmp_path / "resume-policy.toml"
    policy.write_text(f'[[grant]]\nactions = ["*"]\nusers = ["{ALICE[0]}"]\n\n'
                      f'[[approval]]\nactions = ["campaign.resume"]\napprovers = ["{LEAD[0]}"]\n')
    clock = Clock()
    async with campaign_bot(sandbox, tmp_path, clock=clock, schedule=True, access_policy=policy) as bot:
        await ask(bot, "pause winback march for 1m")
        bot.slack.clear()
        await bot.click(last_ephemeral(bot), action_id="campaign.pause_until")
        note = await bot.reply()
        assert "needs a second person's approval" in str(note.args.get("text"))
        await bot.settle()
        assert puts(bot, WINBACK) == []  # not paused, and nothing will resume it by itself
        assert bot.services.schedule is not None and await bot.services.schedule.pending() == []

        await bot.click(request_message(bot), action_id="approval.approve", user=LEAD)
        await bot.settle()
        assert stored(bot, WINBACK)["meta"]["multistep_data"]["is_active"] is False
        assert "It resumes by itself <!date^" in text(request_message(bot))
