"""What the /campaign end-to-end tests share: a bot that reaches Comm in the sandbox, and a policy in which alice
and carol may change campaigns and bob may only look."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bot.devtools.sandbox import DEMO, SEED
from bot.devtools.slack_emulator import Call
from bot.vendors.retrying import Retries
from tests.conftest import Sandbox
from tests.e2e.conftest import ALICE, BOB, CHANNEL, Bot, running_bot

CAROL = ("U0CAROL01", "carol")
POLICY = f"""
[[grant]]
actions = ["campaign.*"]
users = ["{ALICE[0]}", "{CAROL[0]}"]
"""
IDS = SEED.campaign_ids
SENDS = SEED.send_ids
__all__ = ["ALICE", "BOB", "CAROL", "CHANNEL", "IDS", "SENDS"]


@contextlib.asynccontextmanager
async def campaign_bot(sandbox: Sandbox, tmp_path: Path, **extra: Any) -> AsyncIterator[Bot]:
    policy = tmp_path / "campaign-policy.toml"
    policy.write_text(POLICY)
    settings: dict[str, Any] = {"comm_api_url": sandbox.comm_url, "comm_api_token": DEMO.comm_token,
                                "comm_timeout_seconds": 0.5, "access_policy": policy, **extra}
    async with running_bot(sandbox, tmp_path, **settings) as bot:
        if bot.services.comm is not None:  # the same retries, without the production pauses between them
            bot.services.comm.retries = Retries(attempts=3, backoff_initial=0.01, backoff_max=0.05)
        yield bot


def shown(call: Call) -> str:
    return str(call.args.get("text", "")) + str(call.args.get("blocks", ""))


async def ask(bot: Bot, text: str, *, user: tuple[str, str] = ALICE) -> Call:
    """Run ``/campaign text`` and return the bot's answer (the ack must be immediate and empty)."""
    bot.slack.clear()
    response = await bot.command("/campaign", text, user=user)
    assert response.status_code == 200 and response.text == "", response.text
    return await bot.reply()


def button_value(message: dict[str, Any], action_id: str, campaign_id: str) -> str:
    """The value of the ``action_id`` button about ``campaign_id``: a Pause or Resume button's value also carries
    the state it was made against (handlers/campaign/values.py)."""
    for element in button_elements(message):
        value = str(element.get("value", ""))
        if element.get("action_id") == action_id and campaign_id in (value, _carried_id(value)):
            return value
    raise LookupError(f"no {action_id} button for {campaign_id} in {buttons(message)}")


def _carried_id(value: str) -> str | None:
    try:
        return str(json.loads(value)["c"])
    except (ValueError, KeyError, TypeError):
        return None


async def click(bot: Bot, message: dict[str, Any], action_id: str, value: str | None = None, *,
                user: tuple[str, str] = ALICE) -> Call:
    """Press a button (its confirm dialog accepted, as Slack does before sending) and return the last answer.
    ``value``: a campaign id picks that campaign's button."""
    bot.slack.clear()
    if value is not None and any(element.get("value") != value for element in button_elements(message)
                                 if element.get("action_id") == action_id):
        value = button_value(message, action_id, value)
    response = await bot.click(message, action_id=action_id, value=value, user=user)
    assert response.status_code == 200
    return await bot.reply()


def last_ephemeral(bot: Bot, user: tuple[str, str] = ALICE) -> dict[str, Any]:
    return bot.slack.ephemeral_messages(user=user[0])[-1]


def last_in_channel(bot: Bot) -> dict[str, Any]:
    return bot.slack.messages(CHANNEL)[-1]


def campaign_path(campaign_id: str) -> str:
    return f"/api/v1/sms/campaigns/{campaign_id}"


def puts(bot: Bot, campaign_id: str) -> list[dict[str, Any]]:
    return [call["json"] for call in bot.sandbox.state.recorded_calls(method="PUT")
            if call["path"] == campaign_path(campaign_id)]


def stored(bot: Bot, campaign_id: str) -> dict[str, Any]:
    return copy.deepcopy(bot.sandbox.state.campaign(campaign_id))


def button_elements(message: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for block in message.get("blocks") or []:
        elements = block.get("elements") if block.get("type") == "actions" else [block.get("accessory")]
        found.extend(element for element in elements or [] if element and element.get("type") == "button")
    return found


def buttons(message: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(action_id, label, has a confirm dialog) of every button in the message."""
    return [(element["action_id"], element["text"]["text"], "confirm" in element)
            for element in button_elements(message)]
