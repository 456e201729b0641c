"""Capillary auth: Basic with the md5 of the password, OAuth tokens and their expiry, request ids."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from bot.devtools.sandbox import DEMO
from tests.bot.devtools.sandbox import Clock, Running, restore

RESEND = "/v2/communications/resend"
CHANNELS = "/v3/targetGroups/channels"


pytestmark = pytest.mark.asyncio(loop_scope="module")


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


async def token(sbx: Running) -> str:
    answer = await sbx.http.post("/v3/oauth/token/generate", json={"key": DEMO.oauth_key, "secret": DEMO.oauth_secret})
    assert answer.status_code == 200
    body = answer.json()
    assert body["errors"] is None and body["data"]["ttlSeconds"] == 300
    return str(body["data"]["accessToken"])


async def test_basic_auth_with_md5_is_accepted(sbx: Running) -> None:
    answer = await sbx.cap("GET", CHANNELS)
    assert answer.status_code == 200
    assert answer.json()["data"][0] == {"id": 1, "name": "SMS"}


async def test_the_plain_password_is_refused_in_the_v2_envelope(sbx: Running) -> None:
    answer = await sbx.http.post(RESEND, json={"messageId": 1746061653596},
                                 headers=basic(DEMO.capillary_username, DEMO.capillary_password))
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["code"] == 401 and answer.json()["errors"][0]["status"] is False
    assert answer.json()["warnings"] == []
    assert sbx.state.messages.resends == {}  # nothing happened


async def test_missing_auth_is_401_in_the_v3_envelope(sbx: Running) -> None:
    answer = await sbx.http.get(CHANNELS)
    assert answer.status_code == 401
    body = answer.json()
    assert body["data"] is None and body["errors"][0]["code"] == 401 and body["warnings"] is None


async def test_garbage_basic_header_is_401(sbx: Running) -> None:
    answer = await sbx.http.get(CHANNELS, headers={"Authorization": "Basic !!!not-base64"})
    assert answer.status_code == 401


async def test_every_capillary_answer_has_its_own_request_id(sbx: Running) -> None:
    ids = {(await sbx.cap("GET", CHANNELS)).headers["X-Cap-Requestid"] for _ in range(3)}
    ids.add((await sbx.http.get(CHANNELS)).headers["X-Cap-Requestid"])  # errors carry one too
    assert len(ids) == 4
    assert "X-Cap-Requestid" not in (await sbx.comm("GET", "/v1/sms/campaigns")).headers


async def test_oauth_token_works_and_attributes_writes_to_the_client(sbx: Running) -> None:
    headers = {"X-CAP-API-OAUTH-TOKEN": await token(sbx)}
    item = {"active": True, "channelId": 1, "communicationType": "FINISH", "messageTemplate": "Done!",
            "offsetDays": 0, "sender": "CAPLOY", "subjectTemplate": None}
    answer = await sbx.http.post("/v3/targetGroups/2750/targets/2997/communications/upsert", json=[item],
                                 headers=headers)
    assert answer.status_code == 200
    assert answer.json()["data"][0]["attribution"]["createdBy"]["code"] == DEMO.oauth_key


async def test_a_bad_oauth_pair_is_320001(sbx: Running) -> None:
    answer = await sbx.http.post("/v3/oauth/token/generate", json={"key": DEMO.oauth_key, "secret": "nope"})
    assert answer.status_code == 401
    assert answer.json() == {"data": None, "errors": [{"code": 320001, "message": "Invalid client key and secret"}]}


async def test_a_malformed_token_request_is_400(sbx: Running) -> None:
    answer = await sbx.http.post("/v3/oauth/token/generate", content=b"key=demo-key")
    assert answer.status_code == 400 and answer.json()["errors"][0]["code"] == 400


async def test_expired_tokens_answer_498(sbx: Running) -> None:
    headers = {"X-CAP-API-OAUTH-TOKEN": await token(sbx)}
    assert sbx.state.expire_tokens() == 1
    answer = await sbx.http.post(RESEND, json={"messageId": 1746061653596}, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["code"] == 498
    v3 = await sbx.http.get(CHANNELS, headers=headers)
    assert v3.json()["errors"][0]["code"] == 498 and v3.json()["data"] is None
    fresh = {"X-CAP-API-OAUTH-TOKEN": await token(sbx)}
    assert (await sbx.http.get(CHANNELS, headers=fresh)).status_code == 200


async def test_tokens_expire_after_the_ttl_on_the_sandbox_clock(sbx: Running) -> None:
    clock = Clock(datetime(2025, 11, 11, 12, 0, tzinfo=UTC))
    restore(sbx.state, now=clock, oauth_ttl_seconds=60)
    headers = {"X-CAP-API-OAUTH-TOKEN": (await sbx.http.post("/v3/oauth/token/generate", json={
        "key": DEMO.oauth_key, "secret": DEMO.oauth_secret})).json()["data"]["accessToken"]}
    assert (await sbx.http.get(CHANNELS, headers=headers)).status_code == 200
    clock.advance(61)
    assert (await sbx.http.get(CHANNELS, headers=headers)).json()["errors"][0]["code"] == 498


async def test_an_unknown_token_is_401_not_498(sbx: Running) -> None:
    answer = await sbx.http.get(CHANNELS, headers={"X-CAP-API-OAUTH-TOKEN": "made-up"})
    assert answer.status_code == 401 and answer.json()["errors"][0]["code"] == 401


async def test_expire_over_http(sbx: Running) -> None:
    headers = {"X-CAP-API-OAUTH-TOKEN": await token(sbx)}
    assert (await sbx.http.post("/_sandbox/oauth/expire")).json() == {"expired": 1}
    assert (await sbx.http.get(CHANNELS, headers=headers)).json()["errors"][0]["code"] == 498
