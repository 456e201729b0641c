"""/campaign status, list, names and usage over signed HTTP, against Comm in the sandbox."""

from __future__ import annotations

import pytest

from tests.e2e.campaign_support import (
    BOB,
    IDS,
    ask,
    buttons,
    click,
    last_ephemeral,
    puts,
    shown,
)
from tests.e2e.conftest import Bot


@pytest.mark.parametrize(("text", "says"), [
    ("", "Say what to do"), ("help", "*Usage:* `/campaign"), ("frob it", "“frob” is not a /campaign sub-command"),
    ("stop Weekly", "Say which send to stop"), ("pause", "Say which campaign to pause"),
])
async def test_help_empty_and_unknown_get_usage_only_for_the_caller(cbot: Bot, text: str, says: str) -> None:
    response = await cbot.command("/campaign", text)
    assert response.status_code == 200
    assert says in response.text and "/campaign list [filter]" in response.text  # an ack's text is ephemeral
    await cbot.settle()
    assert cbot.sandbox.state.recorded_calls(path="/api") == []


async def test_status_card_of_a_planned_campaign(cbot: Bot) -> None:
    reply = await ask(cbot, 'status "weekly digest"')
    assert reply.args["response_type"] == "ephemeral"
    text = shown(reply)
    for part in ("Weekly Digest", IDS["Weekly Digest"], "in_progress", "planned", ":arrow_forward: active",
                 "`meta.planner_data.is_active` true", "`meta.planner_data.multistep_data.is_active` true",
                 "step 12", "2,400 of 12,000 sent (20%)", "last send <!date^", "Mon, Wed, Fri 09:00–18:00",
                 "1 a day, 5 a week per contact", "2 messages every 5 min"):
        assert part in text, part
    assert buttons(last_ephemeral(cbot)) == [("campaign.pause", "Pause", True)]


async def test_status_of_a_paused_and_of_a_manual_campaign(cbot: Bot) -> None:
    await ask(cbot, "status cart")
    assert buttons(last_ephemeral(cbot)) == [("campaign.resume", "Resume", True)]
    manual = shown(await ask(cbot, f"status {IDS['Black Friday Teaser']}"))
    assert "manual campaign" in manual and "nothing sent yet" in manual
    assert buttons(last_ephemeral(cbot)) == []


async def test_list_shows_the_teams_campaigns_with_their_buttons(cbot: Bot) -> None:
    text = shown(await ask(cbot, "list"))
    assert "14 SMS campaigns" in text and "Partner Launch" not in text
    listed = buttons(last_ephemeral(cbot))
    assert listed.count(("campaign.pause", "Pause", True)) == 7
    assert listed.count(("campaign.resume", "Resume", True)) == 3
    assert listed.count(("campaign.status", "Details", False)) == 4
    paused = shown(await ask(cbot, "list paused"))
    assert "3 of 14 SMS campaigns" in paused and "Cart Abandonment Nudge" in paused and "Winback" not in paused


async def test_a_long_list_is_paged_within_slacks_block_limit(cbot: Bot) -> None:
    for number in range(35):
        cbot.sandbox.state.campaigns.create("demo", f"Bulk {number:02d}")
    await ask(cbot, "list")
    first = last_ephemeral(cbot)
    assert len(first["blocks"]) <= 50 and "page 1 of 3" in str(first["blocks"])
    assert "Bulk 00" in str(first["blocks"]) and "Weekly Digest" not in str(first["blocks"])
    second = await click(cbot, first, "campaign.list_next", '{"p":2,"f":""}')
    assert "page 2 of 3" in shown(second) and "Bulk 19" in shown(second)
    third = await click(cbot, last_ephemeral(cbot), "campaign.list_next", '{"p":3,"f":""}')
    assert "Winback March VIP" in shown(third)
    assert [b for b in buttons(last_ephemeral(cbot)) if b[0].startswith("campaign.list")] == [
        ("campaign.list_previous", "◀ Previous", False)]


async def test_details_button_shows_the_card(cbot: Bot) -> None:
    await ask(cbot, "list manual")
    reply = await click(cbot, last_ephemeral(cbot), "campaign.status", IDS["Flash Sale Retry"], user=BOB)
    assert "Flash Sale Retry" in shown(reply) and "failed" in shown(reply)


@pytest.mark.parametrize(("ref", "name"), [
    ('"Winback March"', "Winback March"), ("winback march", "Winback March"), ("WINBACK MARCH VIP", "VIP"),
    ("holiday", "Holiday Greetings 2024"), (IDS["Winback March VIP"].upper(), "Winback March VIP"),
])
async def test_names_resolve_exactly_then_any_case_then_unique_prefix(cbot: Bot, ref: str, name: str) -> None:
    text = shown(await ask(cbot, f"status {ref}"))
    assert name in text
    if name == "Winback March":
        assert "VIP" not in text


async def test_an_ambiguous_name_lists_the_candidates_and_changes_nothing(cbot: Bot) -> None:
    text = shown(await ask(cbot, "pause winback"))
    assert "“winback” matches 2 campaigns" in text
    assert IDS["Winback March"] in text and IDS["Winback March VIP"] in text
    assert buttons(last_ephemeral(cbot)) == []
    assert puts(cbot, IDS["Winback March"]) == []


async def test_an_unknown_name_says_so(cbot: Bot) -> None:
    text = shown(await ask(cbot, "status March"))
    assert "No campaign in this Comm team is called “March”" in text and "Did you mean" in text


async def test_bad_arguments_to_a_known_sub_command_are_audited(cbot: Bot) -> None:
    await cbot.command("/campaign", "stop Weekly")
    await cbot.command("/campaign", "frob")
    await cbot.settle()  # the audit row is written after the ack
    rows = await cbot.services.audit.query()
    assert [(r.action, r.outcome) for r in rows] == [("campaign.stop", "invalid")]
    assert rows[0].error is not None and "Say which send to stop" in rows[0].error
