"""GET /v2/customers/interaction: seeded histories, the sentDate format, synthetic customers, hooks."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.devtools.sandbox import SEED
from tests.bot.devtools.sandbox import Running, restore

PATH = "/v2/customers/interaction"
NOW = datetime(2025, 11, 11, 12, 0, 0, tzinfo=UTC)


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture
def sbx(server: Running) -> Running:
    """conftest's ``sbx``, with the sandbox's time standing still at NOW."""
    restore(server.state, now=lambda: NOW)
    return server


async def lookup(sbx: Running, name: str, value: str, **query: str) -> tuple[int, Any]:
    answer = await sbx.cap("GET", PATH, params={"identifierName": name, "identifierValue": value, **query})
    return answer.status_code, answer.json()


def messages(body: Any) -> list[dict[str, Any]]:
    return [message for channel in body["interaction"] for message in channel["messageList"]]


async def test_a_seeded_history_has_the_documented_shape(sbx: Running) -> None:
    status, body = await lookup(sbx, "mobile", "919845000001")
    assert status == 200
    assert set(body) == {"name", "interaction", "warnings"} and body["warnings"] == []
    assert [(channel["name"], channel["count"]) for channel in body["interaction"]] == [("sms", 2), ("email", 1)]
    first = body["interaction"][0]["messageList"][0]
    assert first == {"id": 1746061653596, "receiver": "919845000001", "subject": "", "campaignId": 118201,
                     "status": "NOT-DELIVERED", "sentDate": "11-11-2025 10:00:00", "deliveredTime": None,
                     "userId": 390000001}


async def test_sent_dates_are_cluster_local_without_offset(sbx: Running) -> None:
    restore(sbx.state, now=lambda: NOW, timezone="Asia/Kolkata")
    _, body = await lookup(sbx, "mobile", "919845000001", type="SMS")
    assert body["interaction"][0]["messageList"][0]["sentDate"] == "11-11-2025 15:30:00"


async def test_every_status_appears_across_the_watchlist(sbx: Running) -> None:
    seen = set()
    for entry in SEED.watchlist:
        name, value = entry.split(":", 1)
        status, body = await lookup(sbx, name, value)
        assert status == 200, entry
        seen |= {message["status"] for message in messages(body)}
    assert seen == {"DELIVERED", "NOT-DELIVERED", "SOFT_BOUNCED", "FAILED", "GTW_NOT_FOUND", "OPENED"}


async def test_email_and_external_id_find_the_same_customer(sbx: Running) -> None:
    by_email = await lookup(sbx, "email", "Asha.Rao@example.com")
    by_id = await lookup(sbx, "external_id", "CUST-0001")
    assert by_email == by_id and by_email[1]["name"] == "Asha Rao"


async def test_type_filters_by_channel(sbx: Running) -> None:
    _, body = await lookup(sbx, "mobile", "919845000001", type="EMAIL")
    assert [channel["name"] for channel in body["interaction"]] == ["email"]
    _, everything = await lookup(sbx, "mobile", "919845000001", type="ALL")
    assert len(everything["interaction"]) == 2


async def test_an_unknown_customer_is_1012(sbx: Running) -> None:
    status, body = await lookup(sbx, "mobile", "910000000000")
    assert status == 200
    assert body["errors"][0]["code"] == 1012 and body["errors"][0]["status"] is False


@pytest.mark.parametrize("query", [{"identifierName": "phone", "identifierValue": "1"},
                                   {"identifierName": "mobile"},
                                   {"identifierName": "mobile", "identifierValue": "919845000001", "type": "fax"}])
async def test_bad_queries_are_invalid_input(sbx: Running, query: dict[str, str]) -> None:
    answer = await sbx.cap("GET", PATH, params=query)
    assert answer.status_code == 400 and answer.json()["errors"][0]["code"] == 400


async def test_synthetic_customers_are_deterministic_and_cheap(sbx: Running) -> None:
    first = await lookup(sbx, "mobile", "919900000010")
    assert first == await lookup(sbx, "mobile", "919900000010")
    statuses = {message["status"] for message in messages(first[1])}
    assert "NOT-DELIVERED" in statuses
    _, delivered_only = await lookup(sbx, "mobile", "919900000011")
    assert {message["status"] for message in messages(delivered_only)} <= {"DELIVERED", "OPENED"}
    started = time.perf_counter()
    for number in range(300):
        assert (await lookup(sbx, "mobile", f"9199{number:08d}"))[0] == 200
    assert time.perf_counter() - started < 5


async def test_add_interaction_shows_up_and_keeps_synthetic_history(sbx: Running) -> None:
    when = NOW - timedelta(minutes=3)
    added = sbx.state.add_interaction("mobile", "919900000011", status="SOFT_BOUNCED", sent_at=when)
    _, body = await lookup(sbx, "mobile", "919900000011", type="sms")
    listed = body["interaction"][0]["messageList"]
    assert listed[0]["id"] == added and listed[0]["sentDate"] == "11-11-2025 11:57:00"
    assert body["interaction"][0]["count"] == 3  # the two synthetic SMS are still there


async def test_add_interaction_creates_unknown_customers_and_works_over_http(sbx: Running) -> None:
    answer = await sbx.http.post("/_sandbox/interactions", json={
        "identifierName": "email", "identifierValue": "new.person@example.com", "status": "FAILED",
        "channel": "email", "sentAt": "2025-11-11T11:00:00+00:00", "subject": "Hello"})
    assert answer.status_code == 201
    message_id = answer.json()["messageId"]
    _, body = await lookup(sbx, "email", "new.person@example.com")
    assert messages(body)[0]["id"] == message_id and messages(body)[0]["subject"] == "Hello"
    bad = await sbx.http.post("/_sandbox/interactions", json={"identifierName": "phone", "identifierValue": "1"})
    assert bad.status_code == 400
