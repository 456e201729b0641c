"""Pause, resume and stop over signed HTTP: preview, confirm click, whole-object PUT, read-back, undo."""

from __future__ import annotations

from typing import Any

from tests.e2e.campaign_support import (
    ALICE,
    BOB,
    CAROL,
    IDS,
    SENDS,
    ask,
    buttons,
    click,
    last_ephemeral,
    last_in_channel,
    puts,
    shown,
    stored,
)
from tests.e2e.conftest import Bot

WINBACK, DIGEST = IDS["Winback March"], IDS["Weekly Digest"]




def with_flags(campaign: dict[str, Any], value: bool, *paths: tuple[str, ...]) -> dict[str, Any]:
    for path in paths:
        parent = campaign
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = value
    return campaign


async def test_pause_and_undo_a_multistep_campaign(cbot: Bot) -> None:
    fetched = stored(cbot, WINBACK)
    preview = await ask(cbot, 'pause "Winback March"')
    assert preview.args["response_type"] == "ephemeral"
    assert "• `meta.multistep_data.is_active`: true → false" in shown(preview)
    message = last_ephemeral(cbot)
    assert buttons(message) == [("campaign.pause", "Pause", True)]
    assert puts(cbot, WINBACK) == []  # nothing changes before the click

    outcome = await click(cbot, message, "campaign.pause", WINBACK)
    assert outcome.args["response_type"] == "in_channel"
    text = shown(outcome)
    assert f"<@{ALICE[0]}> paused *Winback March* (`{WINBACK}`) <!date^" in text
    assert "Read back from Comm: paused, nothing else changed" in text
    assert puts(cbot, WINBACK) == [with_flags(fetched, False, ("meta", "multistep_data", "is_active"))]
    assert stored(cbot, WINBACK)["meta"]["multistep_data"]["is_active"] is False

    undo = last_in_channel(cbot)
    assert buttons(undo) == [("campaign.resume", "Resume", True)]
    resumed = await click(cbot, undo, "campaign.resume", WINBACK)
    assert f"<@{ALICE[0]}> resumed *Winback March*" in shown(resumed)
    assert stored(cbot, WINBACK) == with_flags(fetched, True, ("meta", "multistep_data", "is_active"))
    assert buttons(last_in_channel(cbot)) == [("campaign.pause", "Pause", True)]


async def test_pause_a_planned_campaign_flips_the_planner_and_nested_flags(cbot: Bot) -> None:
    fetched = stored(cbot, DIGEST)
    preview = shown(await ask(cbot, "pause weekly"))
    assert "`meta.planner_data.is_active`: true → false" in preview
    assert "`meta.planner_data.multistep_data.is_active`: true → false" in preview
    await click(cbot, last_ephemeral(cbot), "campaign.pause", DIGEST)
    planner, nested = ("meta", "planner_data", "is_active"), ("meta", "planner_data", "multistep_data", "is_active")
    assert puts(cbot, DIGEST) == [with_flags(fetched, False, planner, nested)]


async def test_pausing_a_paused_campaign_changes_nothing(cbot: Bot) -> None:
    text = shown(await ask(cbot, "pause cart"))
    assert "is already paused" in text and "Nothing to change" in text
    assert buttons(last_ephemeral(cbot)) == [("campaign.resume", "Resume", True)]
    text = shown(await ask(cbot, "resume winback march"))
    assert "is already resumed" in text
    assert cbot.sandbox.state.recorded_calls(method="PUT") == []


async def test_the_click_rechecks_the_campaign_on_the_server(cbot: Bot) -> None:
    await ask(cbot, "pause winback march")
    preview = last_ephemeral(cbot)
    cbot.sandbox.state.patch_campaign(WINBACK, {"meta": {"multistep_data": {"is_active": False}}})
    reply = await click(cbot, preview, "campaign.pause", WINBACK)
    assert reply.args["response_type"] == "ephemeral" and "is already paused" in shown(reply)
    assert puts(cbot, WINBACK) == []


async def test_the_confirm_is_authorised_for_whoever_clicks(cbot: Bot) -> None:
    await ask(cbot, "pause winback march")
    await click(cbot, last_ephemeral(cbot), "campaign.pause", WINBACK)
    posted = last_in_channel(cbot)  # the undo button everyone in the channel sees

    denied = await click(cbot, posted, "campaign.resume", WINBACK, user=BOB)
    assert denied.args["response_type"] == "ephemeral"
    assert "not allowed to run `campaign.resume`" in shown(denied)
    assert len(puts(cbot, WINBACK)) == 1
    rows = await cbot.services.audit.query(actions=["campaign.*"])
    assert (rows[-1].user_id, rows[-1].action, rows[-1].outcome) == (BOB[0], "campaign.resume", "denied")

    resumed = await click(cbot, posted, "campaign.resume", WINBACK, user=CAROL)
    assert f"<@{CAROL[0]}> resumed" in shown(resumed)
    assert stored(cbot, WINBACK)["meta"]["multistep_data"]["is_active"] is True
    rows = await cbot.services.audit.query(actions=["campaign.pause", "campaign.resume"])
    assert [(r.user_id, r.action, r.outcome) for r in rows] == [
        (ALICE[0], "campaign.pause", "ok"), (BOB[0], "campaign.resume", "denied"),
        (CAROL[0], "campaign.resume", "ok")]


async def test_someone_without_the_grant_cannot_even_preview(cbot: Bot) -> None:
    response = await cbot.command("/campaign", "pause winback march", user=BOB)
    assert "not allowed to run `campaign.pause`" in response.text
    assert "Winback March" in shown(await ask(cbot, "status winback march", user=BOB))  # reads stay open


async def test_a_change_between_save_and_read_back_is_reported(cbot: Bot) -> None:
    replace = cbot.sandbox.state.campaigns.replace

    def save_then_someone_else_edits(campaign_id: str, body: dict[str, Any]) -> dict[str, Any]:
        saved = replace(campaign_id, body)
        cbot.sandbox.state.patch_campaign(campaign_id, {"meta": {"multistep_data": {"is_active": True,
                                                                                    "step_size": 50}}})
        return saved

    cbot.sandbox.state.campaigns.replace = save_then_someone_else_edits  # type: ignore[method-assign]
    await ask(cbot, "pause winback march")
    outcome = await click(cbot, last_ephemeral(cbot), "campaign.pause", WINBACK)
    text = shown(outcome)
    assert outcome.args["response_type"] == "in_channel"
    assert "reading it back shows a different campaign" in text
    assert "`meta.multistep_data.step_size`: saved 200, Comm now has 50" in text
    assert "`meta.multistep_data.is_active`: saved false, Comm now has true" in text
    assert buttons(last_in_channel(cbot)) == [("campaign.pause", "Pause", True)]  # it is active again


async def test_a_manual_campaign_is_explained_and_a_send_can_be_stopped(cbot: Bot) -> None:
    teaser = IDS["Black Friday Teaser"]
    text = shown(await ask(cbot, "pause black friday"))
    assert "is a manual campaign" in text and "/campaign stop &lt;campaign&gt; &lt;sendId&gt;" in text
    assert buttons(last_ephemeral(cbot)) == []

    send_id = "5b1e2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
    cbot.sandbox.state.campaigns.add_send(teaser, send_id, "in_progress", "2025-01-01T00:00:00.000000Z")
    text = shown(await ask(cbot, f'pause "Black Friday Teaser" {send_id}'))
    assert "A stopped send cannot be resumed" in text
    assert buttons(last_ephemeral(cbot)) == [("campaign.stop", "Stop send", True)]
    stopped = await click(cbot, last_ephemeral(cbot), "campaign.stop", f"{teaser}/{send_id}")
    assert stopped.args["response_type"] == "in_channel"
    assert f"<@{ALICE[0]}> stopped send `{send_id}` of *Black Friday Teaser*" in shown(stopped)
    assert cbot.sandbox.state.campaigns.sends[send_id]["status"] == "stopped"
    assert cbot.sandbox.state.recorded_calls(method="PUT") == []


async def test_stop_asks_first_and_reports_a_finished_send(cbot: Bot) -> None:
    running, finished = SENDS["Weekly Digest"][1], SENDS["Weekly Digest"][0]
    text = shown(await ask(cbot, f"stop weekly {running}"))
    assert f"*Stop* send `{running}`" in text and "cannot be resumed" in text
    await click(cbot, last_ephemeral(cbot), "campaign.stop", f"{DIGEST}/{running}")
    assert cbot.sandbox.state.campaigns.sends[running]["status"] == "stopped"

    await ask(cbot, f"stop weekly {finished}")
    reply = await click(cbot, last_ephemeral(cbot), "campaign.stop", f"{DIGEST}/{finished}")
    assert reply.args["response_type"] == "ephemeral"
    assert "The campaign send has already finished (sent)" in shown(reply)
