"""Latency, the rate limiter and its statistics, the call log, reset, config, and a quiet shutdown."""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import pytest

from bot.devtools.local_server import serve_asgi
from bot.devtools.sandbox import DEMO, SEED, SandboxState, build_sandbox_app
from tests.bot.devtools.sandbox import Running, restore

RESEND = "/v2/communications/resend"
CHANNELS = "/v3/targetGroups/channels"


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_latency_delays_vendor_requests_only(sbx: Running) -> None:
    assert (await sbx.http.post("/_sandbox/latency", json={"ms": 150})).json() == {"ms": 150}
    started = time.perf_counter()
    assert (await sbx.cap("GET", CHANNELS)).status_code == 200
    assert time.perf_counter() - started >= 0.15
    started = time.perf_counter()
    await sbx.http.get("/_sandbox/stats")
    assert time.perf_counter() - started < 0.15
    assert (await sbx.http.post("/_sandbox/latency", json={"ms": -1})).status_code == 400


async def test_a_client_giving_up_during_latency_ends_the_request(sbx: Running) -> None:
    sbx.state.latency_ms = 5000
    with pytest.raises(httpx.ReadTimeout):
        await sbx.cap("GET", CHANNELS, timeout=0.2)
    assert sbx.state.recorded_calls()[-1]["status"] is None  # recorded, never answered
    assert sbx.state.stats()["capillary"]["requests"] == 0  # never got past the delay


async def test_the_rate_limiter_uses_a_sliding_minute_per_vendor(sbx: Running) -> None:
    clock = FakeMonotonic()
    restore(sbx.state, monotonic=clock)
    answer = await sbx.http.post("/_sandbox/rate_limit", json={"per_minute": 3})
    assert answer.json() == {"capillary": 3, "comm": 3}
    statuses = [(await sbx.cap("GET", CHANNELS)) for _ in range(5)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429, 429]
    assert "Retry-After" not in statuses[-1].headers and statuses[-1].json()["errors"][0]["code"] == 429
    comm = [(await sbx.comm("GET", "/v1/sms/campaigns")) for _ in range(4)]
    assert [r.status_code for r in comm] == [200, 200, 200, 429]
    assert comm[-1].headers["Retry-After"] == "60"
    clock.now += 30
    assert (await sbx.cap("GET", CHANNELS)).status_code == 429
    clock.now += 31
    assert (await sbx.cap("GET", CHANNELS)).status_code == 200
    stats = (await sbx.http.get("/_sandbox/stats")).json()
    assert stats["capillary"] == {"requests": 7, "rate_limited": 3, "faulted": 0, "max_in_window": 6,
                                  "per_minute": 3}
    assert stats["comm"]["rate_limited"] == 1


async def test_the_limit_can_be_set_per_vendor_and_lifted(sbx: Running) -> None:
    sbx.state.set_rate_limit(1, "comm")
    assert sbx.state.rate_limit_per_minute is None
    assert [(await sbx.cap("GET", CHANNELS)).status_code for _ in range(3)] == [200, 200, 200]
    assert [(await sbx.comm("GET", "/v1/sms/campaigns")).status_code for _ in range(2)] == [200, 429]
    lifted = await sbx.http.post("/_sandbox/rate_limit", json={"per_minute": None})
    assert lifted.json() == {"capillary": None, "comm": None}
    assert (await sbx.comm("GET", "/v1/sms/campaigns")).status_code == 200
    assert (await sbx.http.post("/_sandbox/rate_limit", json={"per_minute": 0})).status_code == 400
    assert sbx.state.stats()["capillary"]["max_in_window"] == 3  # counted even with no limit


async def test_the_call_log_keeps_bodies_and_queries_but_no_secrets(sbx: Running) -> None:
    await sbx.http.post("/v3/oauth/token/generate", json={"key": DEMO.oauth_key, "secret": DEMO.oauth_secret})
    await sbx.cap("GET", "/v2/customers/interaction", params={"identifierName": "mobile",
                                                              "identifierValue": "919845000001"})
    await sbx.cap("POST", RESEND, content=b"not json")
    calls = (await sbx.http.get("/_sandbox/calls")).json()
    assert [call["path"] for call in calls] == ["/v3/oauth/token/generate", "/v2/customers/interaction", RESEND]
    assert calls[0]["json"] == {"key": DEMO.oauth_key, "secret": "[redacted]"}
    assert calls[1]["query"] == {"identifierName": "mobile", "identifierValue": "919845000001"}
    assert calls[1]["status"] == 200 and calls[2]["status"] == 400
    assert calls[2]["json"] is None and calls[2]["text"] == "not json"
    assert DEMO.oauth_secret not in str(calls) and "Basic" not in str(calls)
    only = (await sbx.http.get("/_sandbox/calls", params={"method": "post", "path": "/v2/"})).json()
    assert [call["path"] for call in only] == [RESEND]
    await sbx.http.delete("/_sandbox/calls")
    assert (await sbx.http.get("/_sandbox/calls")).json() == []


async def test_reset_restores_the_seeded_state_and_keeps_settings(sbx: Running) -> None:
    sbx.state.timeout_seconds = 0.25
    await sbx.cap("POST", RESEND, json={"messageId": SEED.resend_message_id})
    campaign_id = SEED.campaign_ids["Winback March"]
    await sbx.http.post(f"/_sandbox/campaigns/{campaign_id}/mutate", json={"name": "Changed"})
    sbx.state.add_fault("status", path="/api/", status=500, times=None)
    sbx.state.latency_ms = 10
    sbx.state.rate_limit_per_minute = 50
    assert (await sbx.http.post("/_sandbox/reset")).json() == {"reset": True}
    assert sbx.state.campaign(campaign_id)["name"] == "Winback March"
    assert sbx.state.faults.rules == []
    assert sbx.state.latency_ms == 0
    assert sbx.state.rate_limit_per_minute is None
    assert sbx.state.timeout_seconds == 0.25
    again = await sbx.cap("POST", RESEND, json={"messageId": SEED.resend_message_id})
    assert again.json()["resentMessageId"] == SEED.resend_first_result
    assert len(sbx.state.recorded_calls()) == 1


async def test_config_over_http(sbx: Running) -> None:
    answer = await sbx.http.post("/_sandbox/config", json={"timezone": "Asia/Kolkata", "oauth_ttl_seconds": 30})
    assert answer.json()["timezone"] == "Asia/Kolkata" and sbx.state.oauth_ttl_seconds == 30
    token = await sbx.http.post("/v3/oauth/token/generate", json={"key": DEMO.oauth_key, "secret": DEMO.oauth_secret})
    assert token.json()["data"]["ttlSeconds"] == 30
    listed = await sbx.cap("GET", "/v3/targetGroups/2750/targets/2996/communications")
    assert listed.json()["data"][0]["attribution"]["createdOn"].endswith("+0530")
    assert (await sbx.http.post("/_sandbox/config", json={"timezone": "Mars/Olympus"})).status_code == 400
    assert (await sbx.http.get("/_sandbox/nothing")).status_code == 404


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_shutting_down_mid_sleep_is_quiet() -> None:
    state = SandboxState()
    state.latency_ms = 10_000
    records = _Records()
    async with httpx.AsyncClient(timeout=5) as http:
        async with serve_asgi(build_sandbox_app(state)) as url:
            logging.getLogger("uvicorn.error").addHandler(records)
            waiting = asyncio.create_task(http.get(f"{url}{CHANNELS}"))
            await asyncio.sleep(0.2)
        # The server stopped with force_exit; the request is still parked in the latency sleep. Cancel it the way
        # a closing event loop would.
        parked = [task for task in asyncio.all_tasks() if "run_asgi" in repr(task.get_coro())]
        assert parked
        for task in parked:
            task.cancel()
        outcomes = await asyncio.gather(*parked, return_exceptions=True)
        answer = await waiting
    logging.getLogger("uvicorn.error").removeHandler(records)
    assert answer.status_code == 503
    assert outcomes == [None] * len(parked)  # the app returned normally instead of raising CancelledError
    assert not [record for record in records.records if record.levelno >= logging.ERROR]
