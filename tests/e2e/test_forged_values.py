"""Button values go through the same rule as the command text: a value the bot never made sends nothing, is
refused in words, and is audited as invalid, however it is mangled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from handlers.alerts.blocks import RESEND as ALERT_RESEND
from handlers.alerts.blocks import RESEND_ALL
from handlers.resend.blocks import RESEND_ANYWAY
from tests.conftest import Sandbox
from tests.e2e.campaign_support import campaign_bot
from tests.e2e.conftest import Bot

RESEND = "/v2/communications/resend"


def message_with(action_id: str, value: str) -> dict[str, Any]:
    """A message carrying one button with ``value``, as a forger would build it."""
    return {"ts": "1700000000.000100", "text": "x", "blocks": [{
        "type": "actions", "block_id": "forged",
        "elements": [{"type": "button", "action_id": action_id, "value": value,
                      "text": {"type": "plain_text", "text": "Go"}}],
    }]}


@pytest.mark.parametrize(("action_id", "value"), [
    (RESEND_ANYWAY, "0@1"), (RESEND_ANYWAY, "99999999999999999999@1"), (RESEND_ANYWAY, "-5@1"),
    (RESEND_ANYWAY, "1746061653596@0"), (RESEND_ANYWAY, "1746061653596@99999999999999999999"),
    (RESEND_ANYWAY, "１２@1"), (RESEND_ANYWAY, "1746061653596@0001"), (RESEND_ANYWAY, "01746061653596@1"),
    (RESEND_ANYWAY, ",".join(f"{n}@1" for n in range(1, 52))),
    (ALERT_RESEND, "0"), (ALERT_RESEND, "99999999999999999999"), (ALERT_RESEND, "1e9"), (ALERT_RESEND, "²"),
    (RESEND_ALL, "../../etc"), (RESEND_ALL, "x" * 5000),
])
async def test_a_forged_button_value_sends_nothing_and_is_audited(bot: Bot, action_id: str, value: str) -> None:
    response = await bot.click(message_with(action_id, value), action_id=action_id)
    assert response.status_code == 200
    told = await bot.reply()
    assert "nothing was sent" in str(told.args.get("text")) or "no valid message ids" in str(told.args.get("text"))
    await bot.settle()
    assert await bot.vendor_calls(RESEND) == []
    rows = await bot.services.audit.query()
    assert [(row.action, row.outcome) for row in rows] == [
        ("alerts.resend" if action_id != RESEND_ANYWAY else "resend", "invalid")]


@pytest.mark.parametrize(("action_id", "value"), [
    ("campaign.stop", "not-a-uuid"), ("campaign.stop", "x" * 3000), ("campaign.pause", '{"p":1e999}'),
    ("campaign.status", "[" * 5000),
])
async def test_a_forged_campaign_button_is_refused_and_audited(sandbox: Sandbox, tmp_path: Path, action_id: str,
                                                                value: str) -> None:
    async with campaign_bot(sandbox, tmp_path) as bot:
        response = await bot.click(message_with(action_id, value), action_id=action_id)
        assert response.status_code == 200
        assert "no valid campaign id" in str((await bot.reply()).args)
        await bot.settle()
        rows = await bot.services.audit.query()
        assert [(row.action, row.outcome) for row in rows] == [(action_id, "invalid")]
        assert sandbox.state.recorded_calls(path="/api") == []
