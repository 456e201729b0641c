"""The call log: waiting for a past or future call, failed calls, and subscribing."""

from __future__ import annotations

import asyncio

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.devtools.slack_emulator import SlackEmulator
from tests.bot.devtools.slack_emulator import error_of

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_wait_for_returns_past_or_future_calls(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel="C1", text="first")
    assert (await emulator.wait_for("chat.postMessage")).args["text"] == "first"

    async def later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel="C2", text="second")

    task = asyncio.create_task(later())
    call = await emulator.wait_for("chat.postMessage", lambda c: c.args["channel"] == "C2", timeout=2)
    assert call.args["text"] == "second"
    await task
    with pytest.raises(TimeoutError, match=r"chat\.update"):
        await emulator.wait_for("chat.update", timeout=0.05)


async def test_wait_for_skips_failed_calls_unless_asked(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    emulator.fail_next("chat.postMessage", "channel_not_found")
    await error_of(client.chat_postMessage(channel="C1", text="x"))
    assert (await emulator.wait_for("chat.postMessage", include_failed=True)).error == "channel_not_found"
    with pytest.raises(TimeoutError):
        await emulator.wait_for("chat.postMessage", timeout=0.05)
    emulator.clear()
    assert emulator.calls(include_failed=True) == []


async def test_subscribe_sees_every_later_call(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    await client.auth_test()
    queue = emulator.subscribe()
    await client.chat_postMessage(channel="C1", text="x")
    emulator.fail_next("chat.update", "message_not_found")
    await error_of(client.chat_update(channel="C1", ts="1.0", text="y"))
    seen = [queue.get_nowait(), queue.get_nowait()]
    assert [(c.method, c.error) for c in seen] == [("chat.postMessage", None), ("chat.update", "message_not_found")]
    assert queue.empty()
    emulator.unsubscribe(queue)
    await client.auth_test()
    assert queue.empty()
