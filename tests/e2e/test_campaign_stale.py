"""A Pause or Resume click made against a campaign that changed since does not silently undo the newer change:
the clicker sees what changed, who changed it last, and decides again with a fresh button."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.devtools import slack_payloads as payloads
from tests.e2e.campaign_support import (
    ALICE,
    CAROL,
    CHANNEL,
    IDS,
    ask,
    buttons,
    click,
    last_ephemeral,
    last_in_channel,
    puts,
    shown,
    stored,
)
from tests.e2e.conftest import SIGNING_SECRET, Bot

WINBACK, CART = IDS["Winback March"], IDS["Cart Abandonment Nudge"]




def active(bot: Bot, campaign_id: str) -> bool:
    meta = stored(bot, campaign_id)["meta"]
    return bool((meta.get("planner_data") or meta["multistep_data"])["is_active"])


async def stale_rows(bot: Bot) -> list[Any]:
    await bot.settle()
    return [row for row in await bot.services.audit.query(limit=None) if row.error_code == "stale"]


async def test_a_pause_click_after_someone_resumed_does_not_pause_again(cbot: Bot) -> None:
    await ask(cbot, "pause winback march")
    preview = last_ephemeral(cbot)
    await click(cbot, preview, "campaign.pause", WINBACK)  # alice pauses
    resumed = await click(cbot, last_in_channel(cbot), "campaign.resume", WINBACK, user=CAROL)  # carol undoes it
    assert f"<@{CAROL[0]}> resumed" in shown(resumed) and active(cbot, WINBACK)
    assert len(puts(cbot, WINBACK)) == 2

    again = await click(cbot, preview, "campaign.pause", WINBACK)  # the old preview's button, clicked anew
    text = shown(again)
    assert again.args["response_type"] == "ephemeral"
    assert "changed after this button was made, so nothing was done" in text
    assert "it showed the campaign *active*, and it is *active* now" in text
    assert f"Last resumed through commops by <@{CAROL[0]}> <!date^" in text
    await cbot.settle()
    assert len(puts(cbot, WINBACK)) == 2 and active(cbot, WINBACK)  # nothing was PUT: carol's resume stands
    rows = await stale_rows(cbot)
    assert [(row.action, row.outcome, row.user_id) for row in rows] == [("campaign.pause", "invalid", ALICE[0])]
    assert rows[0].attempt_id and "last resumed by U0CAROL01" in (rows[0].error or "")

    # The fresh decision: the reply carries a new Pause button, made against what is true now; it works.
    fresh = last_ephemeral(cbot)
    assert buttons(fresh) == [("campaign.pause", "Pause", True)]
    done = await click(cbot, fresh, "campaign.pause", WINBACK)
    assert f"<@{ALICE[0]}> paused *Winback March*" in shown(done)
    assert len(puts(cbot, WINBACK)) == 3 and not active(cbot, WINBACK)


async def test_a_resume_click_after_a_resume_and_a_pause_by_someone_else_asks_again(cbot: Bot) -> None:
    # Cart Abandonment Nudge is paused. Alice gets a Resume preview; meanwhile carol resumes and pauses it again:
    # the flags are as the preview showed them, but the audit log knows the campaign changed since.
    await ask(cbot, "resume cart")
    preview = last_ephemeral(cbot)
    await ask(cbot, "resume cart", user=CAROL)
    await click(cbot, last_ephemeral(cbot, CAROL), "campaign.resume", CART, user=CAROL)
    await click(cbot, last_in_channel(cbot), "campaign.pause", CART, user=CAROL)
    assert not active(cbot, CART) and len(puts(cbot, CART)) == 2

    stale = await click(cbot, preview, "campaign.resume", CART)
    text = shown(stale)
    assert "it showed the campaign *paused*, and it is *paused* now" in text
    assert f"Last paused through commops by <@{CAROL[0]}>" in text
    await cbot.settle()
    assert len(puts(cbot, CART)) == 2 and not active(cbot, CART)
    fresh = last_ephemeral(cbot)
    assert buttons(fresh) == [("campaign.resume", "Resume", True)]
    await click(cbot, fresh, "campaign.resume", CART)
    assert active(cbot, CART) and len(puts(cbot, CART)) == 3


async def test_a_change_made_in_comm_itself_is_said_and_the_click_offers_the_undo(cbot: Bot) -> None:
    await ask(cbot, "pause winback march")
    preview = last_ephemeral(cbot)
    cbot.sandbox.state.patch_campaign(WINBACK, {"meta": {"multistep_data": {"is_active": False}}})
    reply = await click(cbot, preview, "campaign.pause", WINBACK)
    text = shown(reply)
    assert "it showed the campaign *active*, and it is *paused* now" in text
    assert "commops never paused or resumed it: the change was made in Comm itself" in text
    assert "is already paused" in text and buttons(last_ephemeral(cbot)) == [("campaign.resume", "Resume", True)]
    await cbot.settle()
    assert puts(cbot, WINBACK) == []


async def test_the_undo_button_is_made_against_its_own_change(cbot: Bot) -> None:
    await ask(cbot, "pause winback march")
    await click(cbot, last_ephemeral(cbot), "campaign.pause", WINBACK)
    undo = await click(cbot, last_in_channel(cbot), "campaign.resume", WINBACK)
    assert f"<@{ALICE[0]}> resumed" in shown(undo)  # not refused because of the pause it undoes
    assert await stale_rows(cbot) == []


async def test_a_button_from_an_older_message_shows_the_campaign_and_asks_again(cbot: Bot) -> None:
    button = {"type": "button", "action_id": "campaign.pause", "text": {"type": "plain_text", "text": "Pause"},
              "value": WINBACK}  # what Pause buttons carried before they said what they were made against
    message = {"ts": "1700000000.000100", "text": "", "blocks": [{"type": "actions", "elements": [button]}]}
    reply = await click(cbot, message, "campaign.pause")
    text = shown(reply)
    assert "comes from an older message that does not say what it showed, so nothing was done" in text
    assert "*Winback March*" in text and "is *active* now" in text
    await cbot.settle()
    assert puts(cbot, WINBACK) == []
    assert buttons(last_ephemeral(cbot)) == [("campaign.pause", "Pause", True)]


@pytest.mark.parametrize("value", [
    '{"c":"%s","s":"1","t":1,"x":1}',  # an unknown key
    '{"c":"%s","s":"1","t":"1"}',  # a time that is not a number
    '{"c":"%s","s":"2","t":1}',  # a flag that is neither on nor off
    '{"c":"%s","s":"1111","t":1}',  # more flags than any campaign has
    '{"c":"%s","s":"1","t":-1}',
    '{"c":"not-%s","s":"1","t":1}',
    '{"c":"%s","s":"1","t":1}' + " " * 2000,  # past Slack's limit
])
async def test_a_button_value_the_bot_did_not_make_reaches_nothing(cbot: Bot, value: str) -> None:
    button = {"type": "button", "action_id": "campaign.pause", "text": {"type": "plain_text", "text": "Pause"},
              "value": value.replace("%s", WINBACK)}
    action = {**button, "block_id": "b", "action_ts": "1700000000.000200"}
    body = payloads.block_actions(action, user_id=ALICE[0], user_name=ALICE[1], channel_id=CHANNEL,
                                  message={"ts": "1700000000.000100", "text": "", "blocks": []},
                                  response_url=cbot.slack.new_response_url(channel_id=CHANNEL, user_id=ALICE[0]),
                                  trigger_id=cbot.slack.new_trigger_id())
    cbot.slack.clear()
    assert (await cbot.post(body, headers=payloads.sign(body, SIGNING_SECRET))).status_code == 200
    assert "That button carries no valid campaign id" in shown(await cbot.reply())
    assert cbot.sandbox.state.recorded_calls() == []


async def test_the_buttons_carry_the_state_compactly(cbot: Bot) -> None:
    await ask(cbot, "list")
    values = [element["accessory"]["value"] for element in last_ephemeral(cbot)["blocks"]
              if element.get("accessory", {}).get("action_id") in ("campaign.pause", "campaign.resume")]
    assert values and all(len(value) < 100 for value in values)
    assert {json.loads(value)["s"] for value in values} <= {"0", "1", "00", "11", "01", "10"}
