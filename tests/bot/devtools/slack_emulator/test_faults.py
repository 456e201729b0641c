"""Injected failures: rate limits with Retry-After, other errors, and repeats."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.devtools.slack_emulator import BOT_USER_ID, SlackEmulator
from tests.bot.devtools.slack_emulator import TOKEN, error_of

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_rate_limit_answers_429_with_retry_after(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    emulator.fail_next("chat.postMessage")
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel="C1", text="x")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "1"
    assert info.value.response["error"] == "ratelimited"
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"]  # only the next call fails


async def test_rate_limit_retry_handler_retries_and_succeeds(emulator: SlackEmulator) -> None:
    client = AsyncWebClient(
        token=TOKEN, base_url=emulator.api_url, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)]
    )
    emulator.fail_next("chat.postMessage", retry_after=0)  # slack_sdk sleeps Retry-After plus up to 1 s of jitter
    answer = await client.chat_postMessage(channel="C1", text="eventually")
    assert answer["ok"]
    assert [c.error for c in emulator.calls("chat.postMessage", include_failed=True)] == ["ratelimited", None]
    assert len(emulator.calls("chat.postMessage")) == 1


async def test_other_failures(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    emulator.fail_next("users.info", "internal_error", status=500)
    with pytest.raises(SlackApiError) as info:
        await client.users_info(user=BOT_USER_ID)
    assert info.value.response.status_code == 500
    emulator.fail_next("chat.postMessage", "channel_not_found", times=2)
    assert await error_of(client.chat_postMessage(channel="C1", text="x")) == "channel_not_found"
    assert await error_of(client.chat_postMessage(channel="C1", text="x")) == "channel_not_found"
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"]
