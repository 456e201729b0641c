"""The Capillary client against the sandbox: one test per kind of failure, and what is (not) retried."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from bot.devtools.sandbox import DEMO
from bot.vendors.capillary import CapillaryClient
from bot.vendors.capillary.auth import BasicAuth
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

SEED_MESSAGE, SEED_RESENT, SEED_ORG = 1746061653596, 1748743190124, 100737
RESEND = "/v2/communications/resend"


def basic_client(url: str, **kwargs: object) -> CapillaryClient:
    options: dict[str, object] = {"timeout": 0.5, "backoff_initial": 0.01, "backoff_max": 0.05, **kwargs}
    return CapillaryClient(url, BasicAuth(DEMO.capillary_username, SecretStr(DEMO.capillary_password)),
                           **options)  # type: ignore[arg-type]


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[CapillaryClient]:
    capillary = basic_client(sandbox.url)
    yield capillary
    await capillary.aclose()


async def vendor_paths(sandbox: Sandbox) -> list[str]:
    async with httpx.AsyncClient() as http:
        return [call["path"] for call in (await http.get(f"{sandbox.url}/_sandbox/calls")).json()]


async def resend_calls(sandbox: Sandbox) -> int:
    return (await vendor_paths(sandbox)).count(RESEND)


async def fault(sandbox: Sandbox, **rule: object) -> None:
    async with httpx.AsyncClient() as http:
        (await http.post(f"{sandbox.url}/_sandbox/faults", json=rule)).raise_for_status()


async def test_resend_returns_the_ids_of_the_seed_page(client: CapillaryClient) -> None:
    result = await client.resend(SEED_MESSAGE)
    assert (result.org_id, result.undelivered_message_id, result.resent_message_id) == (
        SEED_ORG, SEED_MESSAGE, SEED_RESENT)
    assert result.warnings == ()


async def test_unknown_message_is_4223_with_org_and_id_in_the_sentence(client: CapillaryClient) -> None:
    with pytest.raises(NotFound) as caught:
        await client.resend(174606165)
    assert caught.value.code == 4223
    assert "174606165" in caught.value.sentence and "100737" in caught.value.sentence
    assert caught.value.request_id


async def test_bad_input_is_invalid_input(sandbox: Sandbox, client: CapillaryClient) -> None:
    with pytest.raises(InvalidInput, match="rejected the input"):
        await client.call("POST", RESEND, json={"messageId": "not-a-number"}, idempotent=False,
                          resource="Communication", operation="resend")


async def test_the_plain_password_is_refused_and_said_so(sandbox: Sandbox) -> None:
    wrong = CapillaryClient(sandbox.url, BasicAuth(DEMO.capillary_username, SecretStr("wrong")), timeout=0.5)
    try:
        with pytest.raises(AuthFailed) as caught:
            await wrong.resend(SEED_MESSAGE)
        assert "CAPILLARY_USERNAME" in caught.value.sentence
        assert "wrong" not in caught.value.sentence
    finally:
        await wrong.aclose()


async def test_access_group_missing_names_the_resource(sandbox: Sandbox, client: CapillaryClient) -> None:
    await fault(sandbox, path=RESEND, kind="status", status=403)
    with pytest.raises(AccessDenied, match="Communication"):
        await client.resend(SEED_MESSAGE)


async def test_errors_in_a_200_body_win_over_the_status(sandbox: Sandbox, client: CapillaryClient) -> None:
    await fault(sandbox, path=RESEND, kind="envelope", code=4000)
    with pytest.raises(AccessDenied):
        await client.resend(SEED_MESSAGE)


async def test_a_server_error_on_resend_is_not_retried(sandbox: Sandbox, client: CapillaryClient) -> None:
    await fault(sandbox, path=RESEND, kind="status", status=500)
    with pytest.raises(Unavailable) as caught:
        await client.resend(SEED_MESSAGE)
    assert caught.value.retryable
    assert await resend_calls(sandbox) == 1


async def test_a_429_on_resend_is_reported_not_retried(sandbox: Sandbox, client: CapillaryClient) -> None:
    await fault(sandbox, path=RESEND, kind="rate_limit")
    with pytest.raises(RateLimited, match="rate limiting"):
        await client.resend(SEED_MESSAGE)
    assert await resend_calls(sandbox) == 1


async def test_a_timeout_on_resend_says_it_may_have_happened(sandbox: Sandbox, client: CapillaryClient) -> None:
    await fault(sandbox, path=RESEND, kind="timeout")
    with pytest.raises(Timeout) as caught:
        await client.resend(SEED_MESSAGE)
    assert caught.value.maybe_applied
    assert "check before trying again" in caught.value.sentence
    assert await resend_calls(sandbox) == 1


async def test_a_malformed_body_is_its_own_error(sandbox: Sandbox, client: CapillaryClient) -> None:
    await fault(sandbox, path=RESEND, kind="malformed")
    with pytest.raises(MalformedResponse, match="not JSON"):
        await client.resend(SEED_MESSAGE)


async def test_reads_are_retried_through_transient_failures(sandbox: Sandbox, client: CapillaryClient) -> None:
    await fault(sandbox, path="/v3/targetGroups/channels", kind="status", status=503, times=2)
    assert await client.ping() == f"till {DEMO.capillary_username}"


async def test_reads_give_up_after_the_last_attempt(sandbox: Sandbox) -> None:
    capillary = basic_client(sandbox.url, max_attempts=2)
    await fault(sandbox, path="/v3/targetGroups/channels", kind="envelope", code=461, times=None)
    try:
        with pytest.raises(Unavailable, match="busy"):
            await capillary.ping()
    finally:
        await capillary.aclose()


async def test_connection_refused_is_retried_even_for_resend_and_then_reported() -> None:
    capillary = basic_client("http://127.0.0.1:9", max_attempts=2)
    try:
        with pytest.raises(ConnectionFailed, match="nothing was sent"):
            await capillary.resend(SEED_MESSAGE)
    finally:
        await capillary.aclose()


async def test_oauth_token_is_fetched_sent_and_renewed_after_498(sandbox: Sandbox) -> None:
    capillary = CapillaryClient(sandbox.url, oauth_key=DEMO.oauth_key, oauth_secret=DEMO.oauth_secret, timeout=0.5)
    try:
        assert (await capillary.resend(SEED_MESSAGE)).org_id == SEED_ORG
        sandbox.state.expire_tokens()
        assert (await capillary.resend(SEED_MESSAGE)).org_id == SEED_ORG
        paths = await vendor_paths(sandbox)
        assert paths.count("/v3/oauth/token/generate") == 2
        assert paths.count(RESEND) == 3  # the one refused with 498 never reached the resend logic
    finally:
        await capillary.aclose()


async def test_a_bad_oauth_pair_is_named(sandbox: Sandbox) -> None:
    capillary = CapillaryClient(sandbox.url, oauth_key="nope", oauth_secret="nope", timeout=0.5)
    try:
        with pytest.raises(AuthFailed, match="CAPILLARY_OAUTH_KEY"):
            await capillary.resend(SEED_MESSAGE)
    finally:
        await capillary.aclose()


def mocked(status: int, body: object) -> CapillaryClient:
    def answer(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers={"X-Cap-Requestid": "req-1"})

    return CapillaryClient("http://capillary.test", BasicAuth("till", SecretStr("pw")),
                           transport=httpx.MockTransport(answer))


async def test_a_resend_answered_in_an_unexpected_shape_may_have_happened() -> None:
    capillary = mocked(200, {"orgId": 100737, "undeliveredMessageId": SEED_MESSAGE, "resentMessageId": None})
    with pytest.raises(MalformedResponse) as caught:
        await capillary.resend(SEED_MESSAGE)
    assert caught.value.maybe_applied and "check before trying again" in caught.value.sentence
    await capillary.aclose()


async def test_a_server_error_with_an_errors_body_on_resend_may_have_happened() -> None:
    capillary = mocked(500, {"errors": [{"status": False, "code": 5000, "message": "Internal error"}]})
    with pytest.raises(VendorError) as caught:
        await capillary.resend(SEED_MESSAGE)
    assert caught.value.maybe_applied and "check before trying again" in caught.value.sentence
    await capillary.aclose()
