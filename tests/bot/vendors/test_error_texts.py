"""A vendor's message may repeat what it was sent, a credential included: the sentences built from it (shown in
Slack, logged, audited, kept on a resend claim) never carry one, and stay short."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot.actor import Actor
from bot.audit.log import AuditLog
from bot.resend.service import ResendService, ResendStatus
from bot.store.engine import Store
from bot.store.schema import upgrade
from bot.store.tables import ResendClaim
from bot.vendors.capillary import CapillaryClient
from bot.vendors.capillary.auth import BasicAuth
from bot.vendors.comm import CommClient
from bot.vendors.errors import MAX_QUOTED, MAX_SENTENCE, InvalidInput, NotFound, VendorError, quoted
from handlers.resend.blocks import result_blocks

PASSWORD = "hunter2-pass"
DIGEST = hashlib.md5(PASSWORD.encode()).hexdigest()
BASIC = base64.b64encode(f"till:{DIGEST}".encode()).decode()
COMM_TOKEN = "comm-token-0001-abcdef"
OAUTH_KEY, OAUTH_SECRET, ACCESS_TOKEN = "oauth-key-0001", "oauth-secret-0001", "access-token-0001-xyz"
ALICE = Actor("U0ALICE01", "alice", "T0001", "C0OPS0001")


def answering(status: int, body: Any) -> httpx.MockTransport:
    return httpx.MockTransport(lambda _request: httpx.Response(status, json=body))


def capillary(handler: Callable[[httpx.Request], httpx.Response]) -> CapillaryClient:
    return CapillaryClient("http://capillary.test", BasicAuth("till", SecretStr(PASSWORD)), timeout=0.5,
                           max_attempts=1, transport=httpx.MockTransport(handler))


def echo(*words: str) -> str:
    return "Rejected request with " + " and ".join(words)


def assert_clean(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text
    assert "[redacted]" in text


@pytest.mark.parametrize(("status", "body"), [
    (400, {"errors": [{"code": 400, "message": echo(PASSWORD, DIGEST, f"Authorization: Basic {BASIC}")}]}),
    (200, {"errors": [{"code": 4223, "message": echo(PASSWORD, BASIC)}], "warnings": []}),
    (418, {"message": echo(PASSWORD, DIGEST)}),
    (404, {"errors": [{"code": 404, "message": f"nothing for password={PASSWORD}"}]}),
])
async def test_capillary_sentences_never_repeat_the_credentials(status: int, body: Any) -> None:
    client = capillary(lambda _request: httpx.Response(status, json=body))
    with pytest.raises(VendorError) as caught:
        await client.resend(1746061653596)
    assert_clean(caught.value.sentence, PASSWORD, DIGEST, BASIC)
    assert str(caught.value) == caught.value.sentence
    await client.aclose()


async def test_capillary_warnings_never_repeat_the_credentials() -> None:
    body = {"orgId": 1, "undeliveredMessageId": 2, "resentMessageId": 3,
            "warnings": [{"message": echo(DIGEST), "code": 7}, f"retried with {PASSWORD}"]}
    client = capillary(lambda _request: httpx.Response(200, json=body))
    result = await client.resend(2)
    assert len(result.warnings) == 2
    for warning in result.warnings:
        assert_clean(warning, PASSWORD, DIGEST)
    await client.aclose()


async def test_the_oauth_key_secret_and_access_token_are_redacted() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v3/oauth/token/generate":
            return httpx.Response(200, json={"data": {"accessToken": ACCESS_TOKEN, "ttlSeconds": 600}})
        return httpx.Response(400, json={"errors": [{"code": 400, "message": echo(ACCESS_TOKEN, OAUTH_SECRET)}]})

    client = CapillaryClient("http://capillary.test", oauth_key=OAUTH_KEY, oauth_secret=OAUTH_SECRET,
                             max_attempts=1, transport=httpx.MockTransport(answer))
    with pytest.raises(InvalidInput) as caught:
        await client.resend(1)
    assert_clean(caught.value.sentence, ACCESS_TOKEN, OAUTH_SECRET)
    await client.aclose()

    refused = CapillaryClient("http://capillary.test", oauth_key=OAUTH_KEY, oauth_secret=OAUTH_SECRET,
                              max_attempts=1, transport=answering(
                                  400, {"errors": [{"code": 400, "message": echo(OAUTH_KEY, OAUTH_SECRET)}]}))
    with pytest.raises(VendorError) as failed:
        await refused.resend(1)
    assert_clean(failed.value.sentence, OAUTH_KEY, OAUTH_SECRET)
    await refused.aclose()


@pytest.mark.parametrize(("status", "body"), [
    (422, {"message": "invalid", "errors": {"name": [echo(COMM_TOKEN)], f"Bearer {COMM_TOKEN}": ["bad"]}}),
    (422, {"message": echo(COMM_TOKEN)}),
    (418, {"message": echo(f"Authorization: Bearer {COMM_TOKEN}")}),
    (200, {"message": echo(COMM_TOKEN), "errors": {"token": [COMM_TOKEN]}}),
])
async def test_comm_sentences_never_repeat_the_token(status: int, body: Any) -> None:
    client = CommClient("http://comm.test", COMM_TOKEN, max_attempts=1, transport=answering(status, body))
    with pytest.raises(VendorError) as caught:
        await client.get_campaign("b12d04e8-7e6f-5b9d-b8de-3cf6dd0d3a16")
    assert_clean(caught.value.sentence, COMM_TOKEN)
    await client.aclose()


async def test_a_long_vendor_message_is_cut_to_fit() -> None:
    many = {f"field_{n}": ["x" * 300, "y\n" * 200] for n in range(40)}
    client = CommClient("http://comm.test", COMM_TOKEN, max_attempts=1,
                        transport=answering(422, {"message": "z" * 10_000, "errors": many}))
    with pytest.raises(InvalidInput) as caught:
        await client.get_campaign("b12d04e8-7e6f-5b9d-b8de-3cf6dd0d3a16")
    assert len(caught.value.sentence) <= MAX_SENTENCE and "\n" not in caught.value.sentence
    await client.aclose()
    assert len(quoted("w" * 5000)) == MAX_QUOTED


def test_every_sentence_is_redacted_and_capped_however_it_is_made() -> None:
    error = NotFound("Capillary said password=hunter2 " + "x" * 2000, vendor="Capillary")
    assert "hunter2" not in error.sentence and len(error.sentence) <= MAX_SENTENCE
    error.sentence = "now with xoxb-1-2-secret"
    assert "xoxb-1-2-secret" not in error.sentence and str(error) == error.sentence
    assert quoted("the token expired") == "the token expired"  # words about secrets are not secrets
    assert quoted(f"got {PASSWORD}", ["", "pw", PASSWORD]) == "got [redacted]"  # short "secrets" are ignored


async def test_a_resend_failure_keeps_no_credential_in_the_claim_the_audit_or_slack(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/claims.db"
    await upgrade(url)
    store = Store(url)
    audit = AuditLog(store)  # no secrets known to the log: the sentence must already be clean
    body = {"errors": [{"code": 400, "message": echo(PASSWORD, f"Basic {BASIC}")}]}
    client = capillary(lambda _request: httpx.Response(400, json=body))
    try:
        (outcome,) = await ResendService(client, store, audit=audit).resend_many([42], ALICE)
        assert outcome.outcome is ResendStatus.FAILED and outcome.error is not None
        async with store.session() as session:
            detail = (await session.execute(select(ResendClaim.detail))).scalar_one()
        (entry,) = await audit.query()
        shown = json.dumps(result_blocks([outcome], ALICE.user_id, outcome.at))
        for text in (outcome.error.sentence, detail or "", entry.error or "", shown):
            assert_clean(text, PASSWORD, BASIC)
    finally:
        await client.aclose()
        await store.close()
