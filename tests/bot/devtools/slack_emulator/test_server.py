"""HTTP in and out: tokens, unknown methods, form-encoded arguments, and serving."""

from __future__ import annotations

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.devtools.slack_emulator import SlackEmulator
from tests.bot.devtools.slack_emulator import TOKEN, error_of

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_tokens_are_checked(emulator: SlackEmulator) -> None:
    assert await error_of(AsyncWebClient(base_url=emulator.api_url).auth_test()) == "not_authed"
    assert await error_of(AsyncWebClient(token="xoxp-user", base_url=emulator.api_url).auth_test()) == "invalid_auth"
    emulator.tokens = {"xoxb-only-this"}
    assert await error_of(AsyncWebClient(token=TOKEN, base_url=emulator.api_url).auth_test()) == "invalid_auth"
    assert (await AsyncWebClient(token="xoxb-only-this", base_url=emulator.api_url).auth_test())["ok"]
    assert [c.error for c in emulator.calls("auth.test", include_failed=True)] == [
        "not_authed",
        "invalid_auth",
        "invalid_auth",
        None,
    ]


async def test_unknown_method(client: AsyncWebClient) -> None:
    assert await error_of(client.api_call("chat.frobnicate", json={"channel": "C1"})) == "unknown_method"


async def test_form_encoded_blocks_are_decoded(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    answer = await client.api_call(
        "chat.postMessage", data={"channel": "C1", "text": "form", "blocks": '[{"type": "divider"}]'}
    )
    assert answer["message"]["blocks"][0]["type"] == "divider"
    assert emulator.calls("chat.postMessage")[0].args["blocks"] == [{"type": "divider"}]


async def test_serve_sets_and_clears_the_base_url() -> None:
    emulator = SlackEmulator()
    with pytest.raises(RuntimeError, match="base_url"):
        emulator.new_response_url()
    async with emulator.serve() as base_url:
        assert emulator.api_url == f"{base_url}/api/"
        assert emulator.new_response_url().startswith(f"{base_url}/response/")
        async with httpx.AsyncClient() as http:
            answer = await http.post(f"{base_url}/api/auth.test", headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.json()["ok"] is True
    assert emulator.base_url is None
