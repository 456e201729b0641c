"""Comm SMS campaigns (seed 003): auth by team, whole-object PUT, 422s, stopping sends, test hooks."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.devtools.sandbox import DEMO, SEED
from tests.bot.devtools.sandbox import Running

WINBACK = SEED.campaign_ids["Winback March"]
DIGEST = SEED.campaign_ids["Weekly Digest"]
PARTNER = SEED.campaign_ids["Partner Launch"]


pytestmark = pytest.mark.asyncio(loop_scope="module")


async def get(sbx: Running, campaign_id: str) -> dict[str, Any]:
    answer = await sbx.comm("GET", f"/v1/sms/campaigns/{campaign_id}")
    assert answer.status_code == 200
    return dict(answer.json()["data"])


async def test_list_shows_the_team_s_campaigns_of_every_kind(sbx: Running) -> None:
    data = (await sbx.comm("GET", "/v1/sms/campaigns")).json()["data"]
    assert {campaign["meta"]["send_type"] for campaign in data} == {"manual", "multistep", "planned", "planner",
                                                                    "Planned", "drip"}
    assert {campaign["status"] for campaign in data} >= {"draft", "pending", "in_progress", "sent", "failed",
                                                         "cancelled"}
    names = [campaign["name"] for campaign in data]
    assert "Winback March" in names and "Winback March VIP" in names and "Partner Launch" not in names
    other = (await sbx.comm("GET", "/v1/sms/campaigns", token=DEMO.other_team_token)).json()["data"]
    assert [campaign["name"] for campaign in other] == ["Partner Launch"]


async def test_planned_campaigns_carry_both_activity_flags(sbx: Running) -> None:
    meta = (await get(sbx, DIGEST))["meta"]
    assert meta["planner_data"]["is_active"] is True
    assert meta["planner_data"]["multistep_data"]["is_active"] is True
    assert meta["planner_data"]["weekly_schedule"]["Mon"] == {"start": "09:00", "end": "18:00"}
    assert meta["multistep_status"]["status"] == "in_progress"


async def test_auth_failures(sbx: Running) -> None:
    nobody = await sbx.http.get("/api/v1/sms/campaigns")
    assert (nobody.status_code, nobody.json()) == (401, {"message": "Unauthenticated."})
    wrong = await sbx.comm("GET", "/v1/sms/campaigns", token="nope")
    assert wrong.status_code == 401
    foreign = await sbx.comm("GET", f"/v1/sms/campaigns/{WINBACK}", token=DEMO.other_team_token)
    assert foreign.status_code == 403 and foreign.json()["message"]
    mine = await sbx.comm("GET", f"/v1/sms/campaigns/{PARTNER}")
    assert mine.status_code == 403
    missing = await sbx.comm("GET", "/v1/sms/campaigns/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404


async def test_create_returns_a_draft(sbx: Running) -> None:
    answer = await sbx.comm("POST", "/v1/sms/campaigns", json={"name": "New year blast"})
    assert answer.status_code == 201
    created = answer.json()["data"]
    assert (created["name"], created["status"], created["meta"]["send_type"]) == ("New year blast", "draft", "manual")
    assert (await get(sbx, created["id"]))["name"] == "New year blast"
    unnamed = await sbx.comm("POST", "/v1/sms/campaigns", json={})
    assert unnamed.status_code == 422 and unnamed.json()["errors"] == {"name": ["The name field is required."]}


async def test_put_stores_the_whole_object_as_given(sbx: Running) -> None:
    campaign = await get(sbx, WINBACK)
    campaign["meta"]["multistep_data"]["is_active"] = False
    campaign["meta"]["extra_vendor_field"] = {"kept": True}
    answer = await sbx.comm("PUT", f"/v1/sms/campaigns/{WINBACK}", json=campaign)
    assert answer.status_code == 200 and answer.json()["data"] == campaign
    assert sbx.state.campaign(WINBACK) == campaign
    assert (await get(sbx, WINBACK)) == campaign
    puts = sbx.state.recorded_calls(method="PUT", path="/api/v1/sms/campaigns/")
    assert puts[-1]["json"] == campaign


async def test_a_partial_put_is_422_and_changes_nothing(sbx: Running) -> None:
    before = copy.deepcopy(sbx.state.campaign(WINBACK))
    answer = await sbx.comm("PUT", f"/v1/sms/campaigns/{WINBACK}",
                            json={"meta": {"multistep_data": {"is_active": False}}})
    assert answer.status_code == 422
    body = answer.json()
    assert set(body["errors"]) == {"id", "name", "meta.send_type", "status"}
    assert body["message"] == "The id field is required. (and 3 more errors)"
    assert sbx.state.campaign(WINBACK) == before


async def test_put_rejects_a_foreign_id_and_bad_values(sbx: Running) -> None:
    campaign = await get(sbx, WINBACK)
    answer = await sbx.comm("PUT", f"/v1/sms/campaigns/{WINBACK}",
                            json={**campaign, "id": DIGEST, "status": "paused"})
    assert answer.status_code == 422 and set(answer.json()["errors"]) == {"id", "status"}


async def test_stopping_a_send_is_final(sbx: Running) -> None:
    send_id = SEED.send_ids["Winback March"][0]
    answer = await sbx.comm("POST", f"/v1/sms/campaigns/{WINBACK}/stop/{send_id}")
    assert answer.status_code == 200 and answer.json()["data"]["status"] == "stopped"
    again = await sbx.comm("POST", f"/v1/sms/campaigns/{WINBACK}/stop/{send_id}")
    assert again.status_code == 422 and "campaignSend" in again.json()["errors"]
    elsewhere = await sbx.comm("POST", f"/v1/sms/campaigns/{DIGEST}/stop/{send_id}")
    assert elsewhere.status_code == 404


async def test_mutate_hooks_change_a_campaign_behind_the_bot_s_back(sbx: Running) -> None:
    def rename(campaign: dict[str, Any]) -> None:
        campaign["name"] = "Renamed"

    sbx.state.mutate_campaign(WINBACK, rename)
    assert (await get(sbx, WINBACK))["name"] == "Renamed"
    answer = await sbx.http.post(f"/_sandbox/campaigns/{DIGEST}/mutate",
                                 json={"status": "cancelled", "meta": {"planner_data": {"is_active": False}}})
    assert answer.status_code == 200
    digest = await get(sbx, DIGEST)
    assert digest["status"] == "cancelled" and digest["meta"]["planner_data"]["is_active"] is False
    assert digest["meta"]["planner_data"]["multistep_data"]["is_active"] is True  # merged, not replaced
    assert (await sbx.http.post("/_sandbox/campaigns/nope/mutate", json={})).status_code == 404


async def test_unknown_comm_routes_answer_like_the_framework(sbx: Running) -> None:
    answer = await sbx.comm("GET", "/v1/sms/nothing-here/at/all")
    assert answer.status_code == 404 and "could not be found" in answer.json()["message"]
    wrong_method = await sbx.comm("DELETE", f"/v1/sms/campaigns/{WINBACK}")
    assert wrong_method.status_code == 405 and "message" in wrong_method.json()


async def test_drifted_campaigns_come_in_the_shapes_the_docs_show(sbx: Running) -> None:
    from bot.devtools.sandbox import drift

    def meta(name: str, data: list[dict[str, Any]]) -> dict[str, Any]:
        return next(dict(campaign["meta"]) for campaign in data if campaign["name"] == name)

    data = (await sbx.comm("GET", "/v1/sms/campaigns")).json()["data"]
    assert meta(drift.DAILY_PLANNER, data)["planner_data"]["days_of_week"] == "Mon"  # the GET answer's shape
    assert meta(drift.PAYDAY, data)["planner_data"]["days_of_week"] == ["Tue", "Fri"]  # the PUT body's shape
    assert meta(drift.WEEKEND, data)["send_type"] == "Planned"
    assert meta(drift.DRIP, data)["send_type"] == "drip"
    assert "multistep_status" not in meta(drift.LEGACY, data)
    assert meta(drift.BROKEN, data)["multistep_data"]["is_active"] == "yes"


async def test_a_put_takes_any_send_type_and_keeps_every_shape(sbx: Running) -> None:
    campaign = await get(sbx, SEED.campaign_ids["Drip Onboarding"])
    campaign["meta"]["send_type"] = "Something New"
    campaign["meta"]["planner_data"] = {"days_of_week": "Thu", "is_active": None}
    answer = await sbx.comm("PUT", f"/v1/sms/campaigns/{campaign['id']}", json=campaign)
    assert answer.status_code == 200 and answer.json()["data"] == campaign
    campaign["meta"]["send_type"] = 7
    refused = await sbx.comm("PUT", f"/v1/sms/campaigns/{campaign['id']}", json=campaign)
    assert refused.status_code == 422 and set(refused.json()["errors"]) == {"meta.send_type"}
