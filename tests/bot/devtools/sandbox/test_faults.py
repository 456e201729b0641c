"""Fault injection, set in Python and over HTTP: each kind, counting, matching and clearing."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bot.devtools.sandbox import DEMO, SEED
from tests.bot.devtools.sandbox import Running

RESEND = "/v2/communications/resend"
CHANNELS = "/v3/targetGroups/channels"
CAMPAIGNS = "/api/v1/sms/campaigns"


pytestmark = pytest.mark.asyncio(loop_scope="module")


async def fault(sbx: Running, **rule: Any) -> dict[str, Any]:
    answer = await sbx.http.post("/_sandbox/faults", json=rule)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def resend(sbx: Running, **kwargs: Any) -> httpx.Response:
    return await sbx.cap("POST", RESEND, json={"messageId": SEED.resend_message_id}, **kwargs)


async def test_status_faults_answer_in_each_vendor_s_envelope(sbx: Running) -> None:
    await fault(sbx, path=RESEND, kind="status", status=403)
    denied = await resend(sbx)
    assert denied.status_code == 403 and denied.json()["errors"][0]["code"] == 4000
    assert "X-Cap-Requestid" in denied.headers
    await fault(sbx, path=CHANNELS, kind="status", status=503, code=4001)
    busy = await sbx.cap("GET", CHANNELS)
    assert busy.status_code == 503 and busy.json()["data"] is None and busy.json()["errors"][0]["code"] == 4001
    await fault(sbx, path=CAMPAIGNS, kind="status", status=500)
    broken = await sbx.comm("GET", "/v1/sms/campaigns")
    assert (broken.status_code, broken.json()) == (500, {"message": "Server Error"})
    assert sbx.state.messages.resends == {}  # an answering fault changes nothing


async def test_envelope_faults_hide_errors_under_200(sbx: Running) -> None:
    sbx.state.add_fault("envelope", path=RESEND, code=521)
    answer = await resend(sbx)
    assert answer.status_code == 200 and answer.json()["errors"][0]["code"] == 521
    sbx.state.add_fault("envelope", path="/v3/", code=461)
    v3 = await sbx.cap("GET", CHANNELS)
    assert v3.status_code == 200 and v3.json()["errors"] == [{"code": 461, "message": v3.json()["errors"][0][
        "message"]}] and v3.json()["data"] is None


async def test_rate_limit_faults(sbx: Running) -> None:
    await fault(sbx, path=RESEND, kind="rate_limit")
    plain = await resend(sbx)
    assert plain.status_code == 429 and "Retry-After" not in plain.headers
    assert plain.json()["errors"][0]["code"] == 429
    await fault(sbx, path=RESEND, kind="rate_limit", retry_after=2)
    assert (await resend(sbx)).headers["Retry-After"] == "2"
    await fault(sbx, path=CAMPAIGNS, kind="rate_limit")
    comm = await sbx.comm("GET", "/v1/sms/campaigns")
    assert comm.status_code == 429 and comm.headers["Retry-After"] == "60"


async def test_timeout_lets_the_resend_happen_and_withholds_the_answer(sbx: Running) -> None:
    sbx.state.timeout_seconds = 5
    await fault(sbx, path=RESEND, kind="timeout")
    with pytest.raises(httpx.ReadTimeout):
        await resend(sbx, timeout=0.3)
    assert sbx.state.messages.resends[SEED.resend_message_id] == [SEED.resend_first_result]
    assert (await resend(sbx)).status_code == 200  # used up


async def test_a_patient_client_gets_the_late_answer(sbx: Running) -> None:
    sbx.state.timeout_seconds = 0.2
    sbx.state.add_fault("timeout", path=RESEND)
    answer = await resend(sbx)
    assert answer.status_code == 200 and answer.json()["resentMessageId"] == SEED.resend_first_result


async def test_malformed_cuts_the_real_answer_short(sbx: Running) -> None:
    await fault(sbx, path=RESEND, kind="malformed")
    answer = await resend(sbx)
    assert answer.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        answer.json()
    assert answer.text.startswith('{"orgId":100737')
    assert SEED.resend_message_id in sbx.state.messages.resends


async def test_times_method_and_prefix_matching(sbx: Running) -> None:
    await fault(sbx, path="/v3/targetGroups", method="get", kind="status", status=502, times=2)
    assert (await sbx.cap("POST", "/v3/targetGroups/2750/targets/2997/communications/upsert",
                          json=[])).status_code == 400  # POST does not match
    assert [(await sbx.cap("GET", CHANNELS)).status_code for _ in range(3)] == [502, 502, 200]
    rule = await fault(sbx, path="/api/", kind="status", status=503, times=None)
    assert rule["times"] is None
    assert [(await sbx.comm("GET", "/v1/sms/campaigns")).status_code for _ in range(3)] == [503, 503, 503]
    listed = (await sbx.http.get("/_sandbox/faults")).json()
    assert [item["served"] for item in listed] == [3]
    assert (await sbx.http.delete("/_sandbox/faults")).json() == {"cleared": 1}
    assert (await sbx.comm("GET", "/v1/sms/campaigns")).status_code == 200


async def test_faulted_requests_are_still_recorded_and_counted(sbx: Running) -> None:
    sbx.state.add_fault("status", path=RESEND, status=500)
    await resend(sbx)
    assert [call["status"] for call in sbx.state.recorded_calls(path=RESEND)] == [500]
    assert sbx.state.stats()["capillary"]["faulted"] == 1


@pytest.mark.parametrize("rule", [
    {"kind": "explode"}, {"path": RESEND}, {"kind": "status", "times": 0}, {"kind": "status", "status": "500"},
    {"kind": "status", "path": "v2"}, {"kind": "status", "colour": "red"}, [1],
])
async def test_bad_rules_are_refused(sbx: Running, rule: Any) -> None:
    answer = await sbx.http.post("/_sandbox/faults", json=rule)
    assert answer.status_code == 400 and "error" in answer.json()


async def test_control_paths_are_never_faulted(sbx: Running) -> None:
    sbx.state.add_fault("status", path="/", status=500, times=None)
    assert (await sbx.http.get("/_sandbox/stats")).status_code == 200
    assert (await sbx.http.get("/v2/anything", headers={"Authorization": DEMO.basic_header()})).status_code == 500
