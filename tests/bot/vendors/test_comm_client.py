"""The Comm client against the sandbox: every vendor error becomes its typed sentence; only reads are retried."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.devtools.sandbox import DEMO, SEED
from bot.vendors.comm import CommClient
from bot.vendors.errors import (
    AccessDenied,
    AuthFailed,
    ConnectionFailed,
    InvalidInput,
    MalformedResponse,
    NotFound,
    RateLimited,
    Timeout,
    Unavailable,
    VendorError,
)
from tests.conftest import Sandbox

DIGEST = SEED.campaign_ids["Weekly Digest"]
PARTNER = SEED.campaign_ids["Partner Launch"]  # another team's
PATH = f"/api/v1/sms/campaigns/{DIGEST}"


def comm_client(url: str, token: str = DEMO.comm_token, **kwargs: Any) -> CommClient:
    options: dict[str, Any] = {"timeout": 0.5, "backoff_initial": 0.01, "backoff_max": 0.5, **kwargs}
    return CommClient(url, token, **options)


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[CommClient]:
    comm = comm_client(sandbox.comm_url)
    yield comm
    await comm.aclose()


def calls(sandbox: Sandbox, method: str, path: str = PATH) -> int:
    return len([call for call in sandbox.state.recorded_calls(method=method) if call["path"] == path])


async def test_list_shows_this_teams_campaigns_only(client: CommClient) -> None:
    names = {campaign.name for campaign in await client.list_campaigns()}
    assert "Weekly Digest" in names and "Winback March VIP" in names
    assert "Partner Launch" not in names


async def test_put_sends_the_object_back_as_given(sandbox: Sandbox, client: CommClient) -> None:
    campaign = await client.get_campaign(DIGEST)
    body = campaign.body()
    body["meta"]["planner_data"]["is_active"] = False
    await client.put_campaign(DIGEST, body)
    assert body == sandbox.state.campaign(DIGEST)
    assert sandbox.state.recorded_calls(method="PUT")[0]["json"] == body


async def test_a_wrong_token_names_the_setting(sandbox: Sandbox) -> None:
    comm = comm_client(sandbox.comm_url, token="not-a-token")
    try:
        with pytest.raises(AuthFailed, match="COMM_API_TOKEN") as caught:
            await comm.list_campaigns()
        assert "not-a-token" not in caught.value.sentence
    finally:
        await comm.aclose()


async def test_another_teams_campaign_is_403(client: CommClient) -> None:
    with pytest.raises(AccessDenied, match="another Comm team"):
        await client.get_campaign(PARTNER)


async def test_an_unknown_campaign_is_404(client: CommClient) -> None:
    unknown = str(uuid.uuid4())
    with pytest.raises(NotFound, match=f"no campaign {unknown}"):
        await client.get_campaign(unknown)


async def test_422_shows_the_vendors_field_errors(sandbox: Sandbox, client: CommClient) -> None:
    with pytest.raises(InvalidInput) as caught:
        await client.put_campaign(DIGEST, {"id": DIGEST, "name": "", "status": "paused"})
    sentence = caught.value.sentence
    assert "name: The name field is required" in sentence and "meta: The meta field is required" in sentence
    assert "status: The selected status is invalid" in sentence and "Nothing was changed" in sentence


async def test_reads_wait_out_a_short_retry_after(sandbox: Sandbox, client: CommClient) -> None:
    sandbox.state.add_fault("rate_limit", path=PATH, method="GET", retry_after=0.05)
    assert (await client.get_campaign(DIGEST)).name == "Weekly Digest"
    assert calls(sandbox, "GET") == 2


async def test_a_long_retry_after_is_reported_at_once(sandbox: Sandbox, client: CommClient) -> None:
    sandbox.state.add_fault("rate_limit", path=PATH, method="GET", retry_after=60)
    with pytest.raises(RateLimited, match="try again in 60 s") as caught:
        await client.get_campaign(DIGEST)
    assert caught.value.retry_after == 60
    assert calls(sandbox, "GET") == 1


async def test_reads_retry_through_server_errors(sandbox: Sandbox, client: CommClient) -> None:
    sandbox.state.add_fault("status", path=PATH, method="GET", status=502, times=2)
    assert (await client.get_campaign(DIGEST)).id == DIGEST
    assert calls(sandbox, "GET") == 3


async def test_reads_give_up_after_the_last_attempt(sandbox: Sandbox) -> None:
    comm = comm_client(sandbox.comm_url, max_attempts=2)
    sandbox.state.add_fault("status", path=PATH, method="GET", status=500, times=None)
    try:
        with pytest.raises(Unavailable, match="HTTP 500"):
            await comm.get_campaign(DIGEST)
    finally:
        await comm.aclose()
    assert calls(sandbox, "GET") == 2


@pytest.mark.parametrize(("rule", "error", "maybe"), [
    ({"kind": "status", "status": 500}, Unavailable, True),
    ({"kind": "status", "status": 503}, Unavailable, False),
    ({"kind": "rate_limit", "retry_after": 0.05}, RateLimited, False),
    ({"kind": "timeout"}, Timeout, True),
    ({"kind": "malformed"}, MalformedResponse, True),
])
async def test_a_put_is_never_retried(sandbox: Sandbox, client: CommClient, rule: dict[str, Any],
                                      error: type[VendorError], maybe: bool) -> None:
    body = (await client.get_campaign(DIGEST)).body()
    sandbox.state.add_fault(path=PATH, method="PUT", **rule)
    with pytest.raises(error) as caught:
        await client.put_campaign(DIGEST, body)
    assert caught.value.maybe_applied is maybe
    assert ("check before trying again" in caught.value.sentence) is maybe
    assert calls(sandbox, "PUT") == 1


async def test_errors_in_a_success_body_are_errors(sandbox: Sandbox, client: CommClient) -> None:
    sandbox.state.add_fault("envelope", path=PATH, method="GET", code=500)
    with pytest.raises(VendorError, match="despite HTTP 200"):
        await client.get_campaign(DIGEST)


async def test_stop_a_send_and_a_finished_one(sandbox: Sandbox, client: CommClient) -> None:
    running, finished = SEED.send_ids["Weekly Digest"][1], SEED.send_ids["Weekly Digest"][0]
    assert (await client.stop_send(DIGEST, running)).status == "stopped"
    with pytest.raises(InvalidInput, match="already finished"):
        await client.stop_send(DIGEST, finished)


async def test_connection_refused_is_reported() -> None:
    comm = comm_client("http://127.0.0.1:9/api", max_attempts=2)
    try:
        with pytest.raises(ConnectionFailed, match="nothing was sent"):
            await comm.list_campaigns()
    finally:
        await comm.aclose()


async def test_pages_are_followed_on_this_host_only() -> None:
    def page(number: int, next_url: str | None) -> dict[str, Any]:
        item = {"id": f"00000000-0000-4000-8000-{number:012d}", "name": f"C{number}", "meta": {}, "status": "draft"}
        return {"data": [item], "links": {"next": next_url}}

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer t"
        number = int(request.url.params.get("page", "1"))
        following = {1: "https://comm.test/api/v1/sms/campaigns?page=2",
                     2: "https://elsewhere.test/api/v1/sms/campaigns?page=3"}.get(number)
        return httpx.Response(200, json=page(number, following))

    comm = CommClient("https://comm.test/api", "t", transport=httpx.MockTransport(answer))
    try:
        assert [campaign.name for campaign in await comm.list_campaigns()] == ["C1", "C2"]
    finally:
        await comm.aclose()


async def test_a_list_with_entries_the_bot_cannot_fully_read_is_still_a_list() -> None:
    good = {"id": "00000000-0000-4000-8000-000000000001", "name": "Good", "status": "draft",
            "meta": {"send_type": "planner", "planner_data": {"days_of_week": "Mon", "is_active": True}}}
    odd = {"id": "00000000-0000-4000-8000-000000000002", "name": "Odd", "meta": {"multistep_data": {"is_active": 1}}}

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [good, None, odd, "text"]})

    comm = CommClient("https://comm.test/api", "t", transport=httpx.MockTransport(answer))
    try:
        listed = await comm.list_campaigns()
    finally:
        await comm.aclose()
    assert [campaign.name for campaign in listed] == ["Good", "", "Odd", ""]
    assert listed[0].fully_read and listed[0].raw == good
    assert [len(campaign.problems) for campaign in listed] == [0, 1, 1, 1]
    assert listed[2].problems == ("`meta.multistep_data.is_active` is a number (1), not true or false",)


async def test_a_single_campaign_answer_that_is_no_object_is_malformed() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": ["not", "a", "campaign"]})

    comm = CommClient("https://comm.test/api", "t", transport=httpx.MockTransport(answer), max_attempts=1)
    try:
        with pytest.raises(MalformedResponse, match="holds no campaign object"):
            await comm.get_campaign("00000000-0000-4000-8000-000000000001")
    finally:
        await comm.aclose()
