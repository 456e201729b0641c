"""The v3 target-group APIs and the communications upsert (seeds 000-002)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.bot.devtools.sandbox import Clock, Running, restore

NOW = datetime(2025, 11, 11, 12, 50, 3, 444_000, tzinfo=UTC)
UPSERT = "/v3/targetGroups/{}/targets/{}/communications/upsert"


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture
def sbx(server: Running, clock: Clock) -> Running:
    """conftest's ``sbx``, with the sandbox's time on ``clock``."""
    restore(server.state, now=clock)
    return server


def item(**changes: Any) -> dict[str, Any]:
    return {"active": True, "channelId": 1, "communicationType": "START",
            "messageTemplate": "Test messageTemplate but communication type changed to START", "offsetDays": 1,
            "sender": "[email protected]", "subjectTemplate": "Test subjectTemplate changed to START ", **changes}


async def test_groups_targets_and_channels(sbx: Running) -> None:
    groups = (await sbx.cap("GET", "/v3/targetGroups")).json()
    assert {group["id"] for group in groups["data"]} == {2750, 2163} and groups["errors"] is None
    one = (await sbx.cap("GET", "/v3/targetGroups/2750")).json()["data"]
    assert one["name"] == "Gold tier milestones" and one["targetIds"] == [2996, 2997, 2998]
    targets = (await sbx.cap("GET", "/v3/targetGroups/2163/targets")).json()["data"]
    assert [target["id"] for target in targets] == [2317, 2318]
    channels = (await sbx.cap("GET", "/v3/targetGroups/channels")).json()["data"]
    assert channels == [{"id": 1, "name": "SMS"}, {"id": 2, "name": "EMAIL"}, {"id": 3, "name": "MOBILE PUSH"}]


async def test_existing_communications_have_the_upsert_item_shape(sbx: Running) -> None:
    data = (await sbx.cap("GET", "/v3/targetGroups/2750/targets/2996/communications")).json()["data"]
    assert [(c["id"], c["communicationType"], c["channelId"]) for c in data] == [(12, "START", 1), (13, "REMINDER", 2)]
    assert list(data[0]) == ["id", "attribution", "targetId", "targetGroupId", "communicationType", "channelId",
                             "subjectTemplate", "messageTemplate", "sender", "offsetDays", "active"]
    assert data[0]["attribution"]["createdBy"]["type"] == "ADMIN_USER"
    assert (await sbx.cap("GET", "/v3/targetGroups/2750/targets/2997/communications")).json()["data"] == []


async def test_upsert_creates_like_the_seed_page(sbx: Running) -> None:
    answer = await sbx.cap("POST", UPSERT.format(2750, 2997), json=[item()])
    assert answer.status_code == 200
    body = answer.json()
    assert body["errors"] is None and body["warnings"] is None
    created = body["data"][0]
    assert created["attribution"]["createdOn"] == "2025-11-11T12:50:03.444+0000"
    assert created["attribution"]["lastUpdatedOn"] == created["attribution"]["createdOn"]
    assert created["attribution"]["createdBy"] == {
        "id": 75200001, "code": "demo.till", "description": "Demo store till", "name": "demo.till", "type": "TILL"}
    assert (created["targetId"], created["targetGroupId"], created["offsetDays"]) == (2997, 2750, 1)
    assert datetime.fromisoformat(created["attribution"]["createdOn"]) == NOW


async def test_upsert_updates_the_same_type_and_channel_and_creates_for_a_new_type(sbx: Running, clock: Clock) -> None:
    clock.advance(90)
    updated = (await sbx.cap("POST", UPSERT.format(2750, 2996), json=[item(messageTemplate="New text")])).json()
    first = updated["data"][0]
    assert first["id"] == 12 and first["messageTemplate"] == "New text"
    assert first["attribution"]["createdBy"]["code"] == "ops.admin"
    assert first["attribution"]["lastUpdatedBy"]["code"] == "demo.till"
    assert first["attribution"]["lastUpdatedOn"] == "2025-11-11T12:51:33.444+0000"
    assert first["attribution"]["createdOn"] != first["attribution"]["lastUpdatedOn"]
    other = (await sbx.cap("POST", UPSERT.format(2750, 2996), json=[item(communicationType="CHANGE")])).json()
    assert other["data"][0]["id"] not in (12, 13)
    emailed = (await sbx.cap("POST", UPSERT.format(2750, 2996), json=[item(channelId=2)])).json()
    assert emailed["data"][0]["id"] not in (12, 13, other["data"][0]["id"])
    listed = (await sbx.cap("GET", "/v3/targetGroups/2750/targets/2996/communications")).json()["data"]
    assert len(listed) == 4


async def test_timestamps_follow_the_cluster_zone(sbx: Running) -> None:
    restore(sbx.state, now=lambda: NOW, timezone="Asia/Kolkata")
    created = (await sbx.cap("POST", UPSERT.format(2163, 2318), json=[item()])).json()["data"][0]
    assert created["attribution"]["createdOn"] == "2025-11-11T18:20:03.444+0530"
    assert datetime.fromisoformat(created["attribution"]["createdOn"]) == NOW


@pytest.mark.parametrize("body, fragment", [
    ({"active": True}, "non-empty JSON array"),
    ([], "non-empty JSON array"),
    ([item(channelId="1")], "[0].channelId must be an integer"),
    ([item(channelId=9)], "[0].channelId 9 is not a channel"),
    ([item(active="yes")], "[0].active must be a boolean"),
    ([item(communicationType="start")], "[0].communicationType must be one of"),
    ([item(offsetDays=1.5)], "[0].offsetDays must be an integer"),
    ([item(), {k: v for k, v in item().items() if k != "sender"}], "[1].sender is required"),
    (["nope"], "[0] must be a JSON object"),
])
async def test_invalid_bodies_are_400_and_write_nothing(sbx: Running, body: Any, fragment: str) -> None:
    answer = await sbx.cap("POST", UPSERT.format(2750, 2997), json=body)
    assert answer.status_code == 400
    errors = answer.json()["errors"]
    assert answer.json()["data"] is None and errors[0]["code"] == 400
    assert any(fragment in error["message"] for error in errors), errors
    assert sbx.state.loyalty.groups[2750].targets[2997].communications == {}


async def test_unknown_group_target_or_bad_ids(sbx: Running) -> None:
    group = await sbx.cap("POST", UPSERT.format(9999, 2996), json=[item()])
    assert group.status_code == 404 and group.json()["errors"][0]["code"] == 404
    target = await sbx.cap("POST", UPSERT.format(2163, 2996), json=[item()])
    assert target.status_code == 404 and "2996" in target.json()["errors"][0]["message"]
    bad = await sbx.cap("GET", "/v3/targetGroups/abc/targets")
    assert bad.status_code == 400
    missing_slash = await sbx.cap("POST", "/v3/targetGroups/2750targets/2996/communications/upsert", json=[item()])
    assert missing_slash.status_code == 404 and missing_slash.json()["data"] is None
