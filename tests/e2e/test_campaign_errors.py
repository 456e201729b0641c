"""Every Comm failure becomes one clear sentence in Slack, and nothing half-done goes unreported."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from bot.devtools.sandbox import FaultRule
from tests.conftest import Sandbox
from tests.e2e.campaign_support import (
    IDS,
    ask,
    campaign_bot,
    campaign_path,
    click,
    last_ephemeral,
    last_in_channel,
    puts,
    shown,
    stored,
)
from tests.e2e.conftest import Bot

WINBACK = IDS["Winback March"]




async def test_not_configured_names_the_setting(bot: Bot) -> None:
    response = await bot.command("/campaign", "list")
    assert response.status_code == 200
    assert "Comm is not configured" in response.text and "COMM_API_TOKEN" in response.text


async def test_a_wrong_token_is_401_and_names_the_setting(sandbox: Sandbox, tmp_path: Path) -> None:
    async with campaign_bot(sandbox, tmp_path, comm_api_token="not-the-token") as wrong:
        text = shown(await ask(wrong, "list"))
    assert "Comm refused the bot's token (401)" in text and "check COMM_API_TOKEN" in text


async def test_another_teams_campaign_is_403(cbot: Bot) -> None:
    text = shown(await ask(cbot, f"status {IDS['Partner Launch']}"))
    assert "(403): it belongs to another Comm team" in text


async def test_an_unknown_id_is_404(cbot: Bot) -> None:
    unknown = str(uuid.uuid4())
    assert f"Comm found no campaign {unknown} (404)" in shown(await ask(cbot, f"pause {unknown}"))


async def test_the_vendors_field_errors_are_shown_and_nothing_changes(cbot: Bot) -> None:
    cbot.sandbox.state.patch_campaign(WINBACK, {"status": "archived"})  # a status Comm's own PUT refuses
    await ask(cbot, "pause winback march")
    reply = await click(cbot, last_ephemeral(cbot), "campaign.pause", WINBACK)
    assert reply.args["response_type"] == "ephemeral"
    text = shown(reply)
    assert "Could not pause" in text and "(422): status: The selected status is invalid" in text
    assert stored(cbot, WINBACK)["meta"]["multistep_data"]["is_active"] is True


async def test_a_rate_limit_says_when_to_try_again(cbot: Bot) -> None:
    await cbot.fault(path="/api/v1/sms/campaigns", kind="rate_limit", retry_after=60)
    assert "rate limiting the bot's calls (429); try again in 60 s" in shown(await ask(cbot, "list"))


async def test_a_short_rate_limit_on_the_save_is_waited_out_and_said(cbot: Bot) -> None:
    await ask(cbot, "pause winback march")
    await cbot.fault(path=campaign_path(WINBACK), method="PUT", kind="rate_limit", retry_after=0.2)
    notice = await click(cbot, last_ephemeral(cbot), "campaign.pause", WINBACK)
    assert "trying again in 0.2 s" in shown(notice)
    outcome = await cbot.reply(lambda call: call.args.get("response_type") == "in_channel")
    assert "paused *Winback March*" in shown(outcome)
    assert len(puts(cbot, WINBACK)) == 2


async def test_server_errors_and_timeouts_are_sentences(cbot: Bot) -> None:
    await cbot.fault(path="/api/v1/sms/campaigns", kind="status", status=500, times=None)
    assert "Comm is unavailable right now (HTTP 500)" in shown(await ask(cbot, "status weekly"))
    cbot.sandbox.state.clear_faults()
    await cbot.fault(path="/api/v1/sms/campaigns", kind="timeout", times=None)
    assert "Comm did not answer within 0.5 s" in shown(await ask(cbot, f"status {WINBACK}"))


async def test_a_save_whose_answer_is_lost_is_checked_and_reported(cbot: Bot) -> None:
    await ask(cbot, "pause winback march")
    await cbot.fault(path=campaign_path(WINBACK), method="PUT", kind="timeout")
    outcome = await click(cbot, last_ephemeral(cbot), "campaign.pause", WINBACK)
    text = shown(outcome)
    assert outcome.args["response_type"] == "in_channel" and "paused *Winback March*" in text
    assert "answer to the save was lost" in text and "the read-back shows it took effect" in text


async def test_a_failed_first_read_sends_nothing(cbot: Bot) -> None:
    await ask(cbot, "pause winback march")
    await cbot.fault(path=campaign_path(WINBACK), method="GET", kind="status", status=500, times=None)
    failed = await click(cbot, last_ephemeral(cbot), "campaign.pause", WINBACK)
    assert failed.args["response_type"] == "ephemeral"
    assert "Could not pause" in shown(failed) and "HTTP 500" in shown(failed)
    assert puts(cbot, WINBACK) == []


async def test_a_save_that_may_have_happened_and_cannot_be_checked_says_so(cbot: Bot) -> None:
    await ask(cbot, "pause winback march")
    preview = last_ephemeral(cbot)
    await cbot.fault(path=campaign_path(WINBACK), method="PUT", kind="status", status=502)
    take = cbot.sandbox.state.faults.take

    def reads_fail_from_the_save_on(method: str, path: str) -> FaultRule | None:
        if method == "PUT":
            cbot.sandbox.state.add_fault("status", status=500, path=campaign_path(WINBACK), method="GET",
                                         times=None)
        return take(method, path)

    cbot.sandbox.state.faults.take = reads_fail_from_the_save_on  # type: ignore[method-assign]
    outcome = await click(cbot, preview, "campaign.pause", WINBACK)
    assert outcome.args["response_type"] == "in_channel"
    text = shown(outcome)
    assert "HTTP 502" in text and "it is not known whether it is paused" in text
    assert "campaign.pause" not in str(last_in_channel(cbot).get("blocks"))  # no button acting on a guess


@pytest.mark.parametrize("action_id", ["campaign.pause", "campaign.resume", "campaign.status", "campaign.stop"])
async def test_a_button_without_a_valid_campaign_id_is_answered_and_reaches_nothing(cbot: Bot, action_id: str) -> None:
    button = {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": "Go"},
              "value": "not-a-campaign-id"}
    message = {"ts": "1700000000.000100", "text": "", "blocks": [{"type": "actions", "elements": [button]}]}
    reply = await click(cbot, message, action_id)
    assert "That button carries no valid campaign id" in shown(reply)
    assert cbot.sandbox.state.recorded_calls() == []
