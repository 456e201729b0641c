"""The App Home over signed HTTP: app_home_opened publishes a Home tab that fits each person, within Slack's limits."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from bot.access.policy import PolicySource
from bot.actor import Actor
from bot.audit.log import AuditOutcome
from bot.campaigns.plan import Basis, Op
from bot.devtools import slack_payloads as payloads
from bot.devtools.sandbox import DEMO, SEED
from bot.schedule.actions import Origin, ScheduledAction, ScheduledActions, State
from bot.vendors.retrying import Retries
from tests.conftest import Sandbox
from tests.e2e.alert_support import ALERTS, alert_job
from tests.e2e.conftest import ALICE, CHANNEL, Bot, running_bot

GREG = ("U0GREG001", "greg")  # in the ops user group
AUDREY = ("U0AUDREY1", "audrey")  # the auditor
CAROL = ("U0CAROL01", "carol")  # in no grant
OPS_GROUP = "S0OPS0001"
POLICY = f"""
[[grant]]
actions = ["resend", "alerts.resend", "campaign.*"]
usergroups = ["{OPS_GROUP}"]

[[grant]]
actions = ["audit.read"]
users = ["{AUDREY[0]}"]

[[grant]]
actions = ["resend"]
users = ["{ALICE[0]}"]
channels = ["{CHANNEL}"]
"""
WINBACK = SEED.campaign_ids["Winback March"]


@contextlib.asynccontextmanager
async def home_bot(sandbox: Sandbox, tmp_path: Path, **extra: Any) -> AsyncIterator[Bot]:
    policy = tmp_path / "home-policy.toml"
    policy.write_text(POLICY)
    settings: dict[str, Any] = {"comm_api_url": sandbox.comm_url, "comm_api_token": DEMO.comm_token,
                                "comm_timeout_seconds": 0.5, "access_policy": policy, "alert_channel": ALERTS, **extra}
    async with running_bot(sandbox, tmp_path, **settings) as bot:
        bot.slack.add_usergroup(OPS_GROUP, [GREG[0]])
        bot.services.access.source = PolicySource(policy, recheck_seconds=0)
        if bot.services.comm is not None:
            bot.services.comm.retries = Retries(attempts=2, backoff_initial=0.01, backoff_max=0.02)
        yield bot


async def open_home(bot: Bot, user: tuple[str, str]) -> dict[str, Any]:
    bot.slack.clear()
    response = await bot.post(payloads.app_home_opened(user[0]))
    assert response.status_code == 200
    call = await bot.slack.wait_for("views.publish", lambda c: c.args.get("user_id") == user[0])
    assert call.ok, call.error
    await bot.settle()
    view: dict[str, Any] = bot.slack.home_views[user[0]]
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    return view


def text(view: dict[str, Any]) -> str:
    return str(view["blocks"])


def headers(view: dict[str, Any]) -> list[str]:
    return [block["text"]["text"] for block in view["blocks"] if block["type"] == "header"]


async def test_an_ops_member_sees_what_needs_attention(sandbox: Sandbox, tmp_path: Path) -> None:
    async with home_bot(sandbox, tmp_path) as bot:
        assert bot.services.campaigns is not None
        await bot.services.campaigns.toggle(WINBACK, Op.PAUSE, Actor(GREG[0], GREG[1], None, CHANNEL))
        job = alert_job(bot, tmp_path)
        await job.run_once()
        await bot.command("/resend", str(SEED.resend_message_id), user=GREG)
        await bot.settle()
        view = await open_home(bot, GREG)
        assert headers(view) == ["commops", "What you may do", "Scheduled pauses and resumes", "Paused campaigns",
                                 "Latest alert run", "Your last actions"]
        shown = text(view)
        assert ":white_check_mark: `resend`" in shown and f"includes your user group <!subteam^{OPS_GROUP}>" in shown
        assert ":lock: `audit.read`" in shown
        assert f"*Winback March* (`{WINBACK}`): paused, paused by <@{GREG[0]}>" in shown
        assert f"in <#{ALERTS}>" in shown and "Open the digest" in shown
        assert f"https://slack.com/archives/{ALERTS}/p" in shown
        assert "`resend` `1746061653596` → `1748743190124`: ok" in shown
        assert "`campaign.pause`" in shown


async def test_an_auditor_and_an_outsider_see_only_what_concerns_them(sandbox: Sandbox, tmp_path: Path) -> None:
    async with home_bot(sandbox, tmp_path) as bot:
        await bot.command("/resend", str(SEED.resend_message_id), user=CAROL)  # denied, and audited
        await bot.settle()
        outsider = await open_home(bot, CAROL)
        assert headers(outsider) == ["commops", "What you may do", "Scheduled pauses and resumes",
                                     "Paused campaigns", "Your last actions"]
        shown = text(outsider)
        assert ":lock: `resend`" in shown and "no grant of the access policy covers you" in shown
        assert "To get one of them, ask an admin" in shown
        assert ":no_entry:" in shown and "`resend`" in shown  # their own denial, in their last actions
        auditor = await open_home(bot, AUDREY)
        assert headers(auditor)[-1] == "Latest actions by everyone"
        assert f"<@{CAROL[0]}>" in text(auditor) and ":white_check_mark: `audit.read`" in text(auditor)
        # alice may resend only in the ops channel: the Home tab (no channel) says where.
        alice = text(await open_home(bot, ALICE))
        assert f"only in <#{CHANNEL}>" in alice


async def test_with_comm_down_its_sections_say_so_and_the_rest_renders(sandbox: Sandbox, tmp_path: Path) -> None:
    async with home_bot(sandbox, tmp_path, comm_api_url="http://127.0.0.1:9/api") as bot:
        view = await open_home(bot, GREG)
        shown = text(view)
        assert "Paused campaigns" in headers(view) and "Could not read this now" in shown
        assert "What you may do" in headers(view) and "Your last actions" in headers(view)


async def test_more_than_fits_is_summarised_within_100_blocks(sandbox: Sandbox, tmp_path: Path) -> None:
    async with home_bot(sandbox, tmp_path) as bot:
        actions = ScheduledActions(bot.services.store)
        now = bot.services.clock()
        scheduler = Actor(GREG[0], GREG[1], None, CHANNEL)
        for n in range(40):
            await actions.add(ScheduledAction(
                id=f"{n:032x}", campaign_id=WINBACK, campaign_name=f"Campaign {n}", op=Op.RESUME,
                origin=Origin.AT, due_at=now + timedelta(hours=n + 1), state=State.PENDING,
                basis=Basis((False,), now), scheduler=scheduler, zone="UTC", created_at=now), None)
        for n in range(300):
            await bot.services.audit.record("resend", AuditOutcome.OK, scheduler, communication_id=9000000000000 + n)
        view = await open_home(bot, GREG)
        shown = text(view)
        assert "… and 30 more: `/campaign scheduled`" in shown
        assert shown.count("`resend` `90000000") == 10
        assert len(view["blocks"]) <= 100


async def test_refresh_redraws_and_events_for_the_messages_tab_draw_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    async with home_bot(sandbox, tmp_path) as bot:
        first = await open_home(bot, GREG)
        button = next(b["accessory"] for b in first["blocks"] if b.get("block_id") == "home-top")
        bot.slack.clear()
        body = payloads.block_actions(
            {"type": "button", "action_id": button["action_id"], "value": button["value"], "block_id": "home-top"},
            user_id=GREG[0], user_name=GREG[1], view=first, trigger_id=bot.slack.new_trigger_id())
        assert (await bot.post(body)).status_code == 200
        await bot.slack.wait_for("views.publish")
        bot.slack.clear()
        response = await bot.post(payloads.app_home_opened(GREG[0], tab="messages"))
        assert response.status_code == 200
        await bot.settle()
        assert bot.slack.calls("views.publish") == []


async def test_an_unsigned_event_publishes_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    async with home_bot(sandbox, tmp_path) as bot:
        body = payloads.app_home_opened(GREG[0])
        forged = payloads.sign(body, "not-the-secret")
        assert (await bot.post(body, headers=forged)).status_code == 401
        await bot.settle()
        assert bot.slack.calls("views.publish") == []
        assert isinstance(bot.http, httpx.AsyncClient)
