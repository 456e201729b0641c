"""Real Comm data over signed HTTP: the shapes Comm's docs drift between (bot/devtools/sandbox/drift.py).

``days_of_week`` as a string or a list, the planner kind spelt ``planner`` or ``Planned``, a send type the bot does
not know, fields the docs never list and ones they list missing, and a campaign (or a list entry) the bot cannot
fully read: none of them breaks a list or a command about another campaign, and a pause sends back exactly what was
read with only the flags changed.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.devtools.sandbox import drift
from tests.e2e.campaign_support import (
    IDS,
    ask,
    buttons,
    click,
    last_ephemeral,
    puts,
    shown,
    stored,
)
from tests.e2e.conftest import Bot

PLANNER = ("meta", "planner_data", "is_active")
NESTED = ("meta", "planner_data", "multistep_data", "is_active")
STEPS = ("meta", "multistep_data", "is_active")




def except_flags(body: dict[str, Any], *paths: tuple[str, ...]) -> dict[str, Any]:
    """``body`` with the flags at ``paths`` taken out, to compare what was sent with what was read."""
    copied = copy.deepcopy(body)
    for path in paths:
        parent = copied
        for key in path[:-1]:
            parent = parent[key]
        parent.pop(path[-1])
    return copied


def texts(message: dict[str, Any]) -> str:
    """Every mrkdwn text of the message's blocks, as Slack would show them."""
    found = [str((block.get("text") or {}).get("text", "")) for block in message.get("blocks") or []]
    found += [str(element.get("text", "")) for block in message.get("blocks") or [] if block["type"] == "context"
              for element in block["elements"]]
    return "\n".join(found)


def flag(body: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = body
    for key in path:
        value = value[key]
    return value


async def pause_and_check(cbot: Bot, name: str, op: str, *paths: tuple[str, ...]) -> dict[str, Any]:
    """Preview and confirm ``op`` of ``name``; the PUT body must be the GET body but for the flags at ``paths``."""
    campaign_id = IDS[name]
    fetched = stored(cbot, campaign_id)
    preview = shown(await ask(cbot, f'{op} "{name}"'))
    for path in paths:
        assert f"`{'.'.join(path)}`" in preview
    outcome = await click(cbot, last_ephemeral(cbot), f"campaign.{op}", campaign_id)
    assert outcome.args["response_type"] == "in_channel", shown(outcome)
    assert "nothing else changed" in shown(outcome)
    [sent] = puts(cbot, campaign_id)
    assert except_flags(sent, *paths) == except_flags(fetched, *paths)  # every other byte as it was read
    for path in paths:
        assert flag(sent, path) is (op == "resume")
    return sent


async def test_days_of_week_as_a_string_goes_back_as_a_string(cbot: Bot) -> None:
    sent = await pause_and_check(cbot, drift.DAILY_PLANNER, "pause", PLANNER, NESTED)
    assert sent["meta"]["planner_data"]["days_of_week"] == "Mon"
    assert sent["meta"]["multistep_status"]["planner_data"]["is_active"] is True  # Comm's progress: untouched


async def test_days_of_week_as_a_list_goes_back_as_a_list(cbot: Bot) -> None:
    sent = await pause_and_check(cbot, drift.PAYDAY, "resume", PLANNER, NESTED)
    assert sent["meta"]["planner_data"]["days_of_week"] == ["Tue", "Fri"]


async def test_unknown_fields_and_missing_ones_go_back_as_they_came(cbot: Bot) -> None:
    sent = await pause_and_check(cbot, drift.LEGACY, "pause", PLANNER)
    assert sent["tags"] == ["imported", "2019"] and sent["updated_at"] is None
    assert sent["meta"]["ab_test"] == {"variant": "B", "share": 0.5} and "segment_ids" not in sent["meta"]


@pytest.mark.parametrize(("name", "written"), [(drift.DAILY_PLANNER, "planner"), (drift.WEEKEND, "Planned"),
                                               ("Weekly Digest", "planned")])
async def test_every_spelling_of_the_planner_kind_is_a_planner(cbot: Bot, name: str, written: str) -> None:
    text = shown(await ask(cbot, f'status "{name}"'))
    assert f"*Send type:* {written}" in text and "`meta.planner_data.is_active` true" in text
    assert "Planner:" in text and buttons(last_ephemeral(cbot)) == [("campaign.pause", "Pause", True)]


async def test_list_planner_finds_every_spelling(cbot: Bot) -> None:
    for wanted in ("planner", "planned", "PLAN"):
        text = shown(await ask(cbot, f"list {wanted}"))
        assert f"6 of 14 SMS campaigns* matching “{wanted}”" in text
        for name in (drift.DAILY_PLANNER, drift.PAYDAY, drift.WEEKEND, drift.LEGACY, "Weekly Digest",
                     "Cart Abandonment Nudge"):
            assert name in text


async def test_an_unknown_send_type_is_shown_and_paused_only_by_its_listed_flags(cbot: Bot) -> None:
    status = shown(await ask(cbot, f'status "{drift.DRIP}"'))
    assert "*Send type:* drip (unknown to the bot)" in status and "`meta.multistep_data.is_active` true" in status
    assert "is unknown to the bot" in status
    preview = shown(await ask(cbot, f'pause "{drift.DRIP}"'))
    assert "• `meta.multistep_data.is_active`: true → false" in preview
    assert "send type “drip” is unknown to the bot" in preview.lower()
    [pause] = [element for block in last_ephemeral(cbot)["blocks"] if block["type"] == "actions"
               for element in block["elements"]]
    assert "unknown to the bot" in pause["confirm"]["text"]["text"]
    assert "meta.multistep_data.is_active: true → false" in pause["confirm"]["text"]["text"]
    await click(cbot, last_ephemeral(cbot), "campaign.pause", IDS[drift.DRIP])
    [sent] = puts(cbot, IDS[drift.DRIP])
    fetched = cbot.sandbox.state.recorded_calls(method="GET", path=f"/api/v1/sms/campaigns/{IDS[drift.DRIP]}")
    assert fetched and sent["meta"]["drip_data"] == {"interval_days": 3, "steps": 4}
    assert except_flags(sent, STEPS) == except_flags(stored(cbot, IDS[drift.DRIP]), STEPS)
    assert sent["meta"]["multistep_data"]["is_active"] is False


async def test_a_campaign_that_cannot_be_fully_read_is_listed_with_a_note(cbot: Bot) -> None:
    text = shown(await ask(cbot, "list"))
    assert "14 SMS campaigns" in text and drift.BROKEN in text
    assert "Not all of it could be read" in text
    assert '`meta.multistep_data.is_active` is a text ("yes"), not true or false' in texts(last_ephemeral(cbot))
    status = shown(await ask(cbot, f'status "{drift.BROKEN}"'))
    assert ":warning: cannot tell" in status and "will not guess" in status
    assert "`meta.multistep_data.is_active` unreadable" in status
    assert buttons(last_ephemeral(cbot)) == []
    refused = shown(await ask(cbot, f'pause "{drift.BROKEN}"'))
    assert "will not guess whether it is sending" in refused and buttons(last_ephemeral(cbot)) == []
    assert puts(cbot, IDS[drift.BROKEN]) == []


async def test_one_broken_entry_never_breaks_the_list_or_another_campaign(cbot: Bot) -> None:
    store = cbot.sandbox.state.campaigns
    store.campaigns["not-an-object"] = "<!channel> garbage"  # type: ignore[assignment]
    store.owners["not-an-object"] = "demo"
    store.campaigns["no-id"] = {"name": "Nameless & id-less", "meta": "???", "status": 5}
    store.owners["no-id"] = "demo"
    text = shown(await ask(cbot, "list"))
    assert "16 SMS campaigns" in text and "Winback March" in text and "Nameless &amp; id-less" in text
    assert "the entry is a text" in text and "<!channel>" not in text
    assert "`meta` is a text" in text and "no id" in text
    winback = IDS["Winback March"]
    await ask(cbot, "pause winback march")  # found by name, through the same list
    outcome = await click(cbot, last_ephemeral(cbot), "campaign.pause", winback)
    assert "paused *Winback March*" in shown(outcome)
    assert "Weekly Digest" in shown(await ask(cbot, "status weekly digest"))
