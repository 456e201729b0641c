"""Scheduled pauses and resumes over signed HTTP: the bot's runner as ``commops run`` starts it, a clock the test
moves (never a sleep until a due time), and the outcome posted in the channel, attributed, exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.devtools.slack_emulator import Call
from tests.conftest import Sandbox
from tests.e2e.campaign_support import (
    ALICE,
    BOB,
    CAROL,
    CHANNEL,
    IDS,
    ask,
    buttons,
    campaign_bot,
    click,
    last_ephemeral,
    last_in_channel,
    puts,
    shown,
    stored,
)
from tests.e2e.conftest import Bot

WINBACK, DIGEST, CART = IDS["Winback March"], IDS["Weekly Digest"], IDS["Cart Abandonment Nudge"]
DAVE = ("U0DAVE001", "dave")  # may pause, not resume
POLICY = f"""
[[grant]]
actions = ["campaign.*"]
users = ["{ALICE[0]}", "{CAROL[0]}"]

[[grant]]
actions = ["campaign.pause"]
users = ["{DAVE[0]}"]
"""


@dataclass
class Clock:
    moment: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@dataclass
class Scheduling:
    bot: Bot
    clock: Clock

    async def poll(self) -> list[Any]:
        assert self.bot.runner is not None
        return await self.bot.runner.poll()

    def runs(self) -> list[dict[str, Any]]:
        """What the runner posted in the channel (its outcomes), oldest first."""
        return [message for message in self.bot.slack.messages(CHANNEL)
                if "campaign-scheduled-run:" in str(message.get("blocks"))]


@pytest.fixture
async def sched(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Scheduling]:
    clock = Clock()
    policy = tmp_path / "schedule-policy.toml"
    policy.write_text(POLICY)
    async with campaign_bot(sandbox, tmp_path, clock=clock, schedule=True, access_policy=policy) as running:
        running.slack.add_user(ALICE[0], ALICE[1], tz="America/New_York")
        yield Scheduling(running, clock)


def flag(bot: Bot, campaign_id: str) -> Any:
    return stored(bot, campaign_id)["meta"]["multistep_data"]["is_active"]


async def run_post(sched: Scheduling) -> Call:
    return await sched.bot.slack.wait_for("chat.postMessage",
                                          lambda call: "campaign-scheduled-run:" in str(call.args.get("blocks")))


async def pause_for_a_minute(sched: Scheduling) -> dict[str, Any]:
    preview = shown(await ask(sched.bot, "pause winback march for 1m"))
    assert "*Pause* *Winback March* (`" in preview
    assert "*resume it by itself* 1 min after you confirm (about <!date^" in preview
    assert "• `meta.multistep_data.is_active`: true → false" in preview
    assert buttons(last_ephemeral(sched.bot)) == [("campaign.pause_until", "Pause, resume later", True)]
    assert puts(sched.bot, WINBACK) == []
    outcome = await click(sched.bot, last_ephemeral(sched.bot), "campaign.pause_until")
    assert outcome.args["response_type"] == "in_channel", shown(outcome)
    text = shown(outcome)
    assert f"<@{ALICE[0]}> paused *Winback March*" in text and "It resumes by itself <!date^" in text
    assert flag(sched.bot, WINBACK) is False
    posted = last_in_channel(sched.bot)
    assert buttons(posted) == [("campaign.resume", "Resume", True), ("campaign.cancel_resume", "Cancel", True)]
    return posted


async def test_pause_for_a_minute_resumes_by_itself_exactly_once(sched: Scheduling) -> None:
    await pause_for_a_minute(sched)
    status = shown(await ask(sched.bot, "status winback march"))
    assert "*Scheduled:* :alarm_clock: resumes by itself <!date^" in status and f"scheduled by <@{ALICE[0]}>" in status

    sched.clock.advance(seconds=30)
    assert await sched.poll() == [] and flag(sched.bot, WINBACK) is False
    sched.clock.advance(seconds=31)
    await sched.poll()
    post = await run_post(sched)
    text = shown(post)
    assert "*Winback March*" in text and "resumed <!date^" in text and "as scheduled" in text
    assert f"Scheduled by <@{ALICE[0]}>" in text and "the pause that resumes by itself" in text
    assert "• `meta.multistep_data.is_active`: false → true" in text
    assert flag(sched.bot, WINBACK) is True and len(puts(sched.bot, WINBACK)) == 2

    sched.clock.advance(minutes=5)
    await sched.poll()
    await sched.bot.settle()
    assert len(sched.runs()) == 1 and len(puts(sched.bot, WINBACK)) == 2
    assert "Scheduled:" not in shown(await ask(sched.bot, "status winback march"))
    rows = await sched.bot.services.audit.query(actions=["campaign.pause", "campaign.resume"])
    assert [(row.action, row.arguments.get("schedule"), row.outcome) for row in rows] == [
        ("campaign.pause", None, "ok"), ("campaign.resume", "create", "ok"), ("campaign.resume", "run", "ok")]


async def test_a_hand_resume_in_between_means_the_scheduled_resume_does_nothing_and_says_why(
        sched: Scheduling) -> None:
    posted = await pause_for_a_minute(sched)
    resumed = await click(sched.bot, posted, "campaign.resume", WINBACK, user=CAROL)
    assert f"<@{CAROL[0]}> resumed" in shown(resumed)
    sched.clock.advance(minutes=1, seconds=1)
    await sched.poll()
    text = shown(await run_post(sched))
    assert "Nothing done" in text and "found it changed since it was scheduled" in text
    assert "It is *active* now" in text and f"last resumed by <@{CAROL[0]}>" in text
    assert len(puts(sched.bot, WINBACK)) == 2  # alice's pause and carol's resume: nothing from the schedule
    await sched.poll()
    await sched.bot.settle()
    assert len(sched.runs()) == 1


async def test_scheduled_lists_and_cancel_needs_the_actions_grant(sched: Scheduling) -> None:
    await pause_for_a_minute(sched)
    listing = await ask(sched.bot, "scheduled", user=BOB)  # a read: campaign.list, open to bob
    assert "*1 scheduled*" in shown(listing) and "*Winback March*" in shown(listing)
    assert "resumes by itself <!date^" in shown(listing)
    assert buttons(last_ephemeral(sched.bot, BOB)) == [("campaign.cancel_resume", "Cancel", True)]
    denied = await click(sched.bot, last_ephemeral(sched.bot, BOB), "campaign.cancel_resume", user=BOB)
    assert "not allowed to run `campaign.resume`" in shown(denied)

    await ask(sched.bot, "scheduled")
    cancelled = await click(sched.bot, last_ephemeral(sched.bot), "campaign.cancel_resume")
    assert cancelled.args["response_type"] == "in_channel"
    assert f"<@{ALICE[0]}> cancelled: Winback March resumes by itself" in shown(cancelled)
    again = await click(sched.bot, last_ephemeral(sched.bot), "campaign.cancel_resume")
    assert "Not cancelled" in shown(again) and "was cancelled by" in shown(again)
    sched.clock.advance(minutes=2)
    await sched.poll()
    await sched.bot.settle()
    assert sched.runs() == [] and flag(sched.bot, WINBACK) is False
    assert "Nothing is scheduled" in shown(await ask(sched.bot, "scheduled"))


async def test_resume_at_a_time_read_in_the_persons_zone(sched: Scheduling) -> None:
    preview = await ask(sched.bot, "resume cart at tomorrow 09:00")
    text = shown(preview)
    assert "read in your Slack time zone, America/New_York" in text and "Nothing changes now" in text
    users_info = sched.bot.slack.calls("users.info")
    assert users_info and users_info[-1].args.get("user") == ALICE[0]
    [confirm] = [element for block in last_ephemeral(sched.bot)["blocks"] if block["type"] == "actions"
                 for element in block["elements"]]
    assert "09:00 America/New_York" in confirm["confirm"]["text"]["text"]
    scheduled = await click(sched.bot, last_ephemeral(sched.bot), "campaign.schedule_resume")
    assert f"<@{ALICE[0]}> scheduled: resume *Cart Abandonment Nudge*" in shown(scheduled)
    [action] = await sched.bot.services.schedule.pending(CART)  # type: ignore[union-attr]
    local = action.due_at.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (9, 0) and action.zone == "America/New_York"
    twice = await click(sched.bot, last_ephemeral(sched.bot), "campaign.schedule_resume")  # the same button
    assert "This button was used already" in shown(twice)
    assert len(await sched.bot.services.schedule.pending(CART)) == 1  # type: ignore[union-attr]
    assert puts(sched.bot, CART) == []

    sched.clock.moment = action.due_at + timedelta(seconds=1)
    await sched.poll()
    assert "*Cart Abandonment Nudge*" in shown(await run_post(sched))
    assert stored(sched.bot, CART)["meta"]["planner_data"]["is_active"] is True


@pytest.mark.parametrize(("text", "reason"), [
    ("pause weekly digest until 2027-11-07 01:30", "happens twice in America/New_York"),
    ("pause weekly digest until 2027-03-14 02:30", "does not exist in America/New_York"),
    ("pause weekly digest until 2026-01-01 09:00", "is in the past"),
    ("pause weekly digest at 2029-01-01 09:00", "more than a year away"),
])
async def test_ambiguous_missing_and_past_times_are_refused_with_the_reason(sched: Scheduling, text: str,
                                                                             reason: str) -> None:
    if "2027" in text:
        sched.clock.moment = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
    answer = shown(await ask(sched.bot, text))
    assert "Nothing was scheduled" in answer and reason in answer
    assert buttons(last_ephemeral(sched.bot)) == []
    await sched.bot.settle()
    rows = await sched.bot.services.audit.query(actions=["campaign.pause"])
    assert rows[-1].outcome == "invalid" and reason in str(rows[-1].error)
    assert puts(sched.bot, DIGEST) == []


async def test_a_pause_that_resumes_by_itself_needs_the_resume_grant(sched: Scheduling) -> None:
    text = shown(await ask(sched.bot, "pause winback march for 1h", user=DAVE))
    assert "you may not run `campaign.resume` here" in text and buttons(last_ephemeral(sched.bot, DAVE)) == []
    plain = shown(await ask(sched.bot, "pause winback march", user=DAVE))
    assert "*Pause* *Winback March* (`" in plain  # pausing alone stays his to do


async def test_usage_names_the_scheduled_forms(sched: Scheduling) -> None:
    response = await sched.bot.command("/campaign", "help")
    assert "for 2h" in response.text and "/campaign scheduled" in response.text
    bad = await sched.bot.command("/campaign", "resume winback for 2h")
    assert "A resume can be scheduled with `at &lt;time&gt;` only" in bad.text
