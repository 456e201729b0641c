"""The chat.* methods: stored messages, Slack's limits, updates, deletions and ephemeral messages."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.devtools.slack_emulator import BOT_ID, BOT_USER_ID, SlackEmulator
from tests.bot.devtools.slack_emulator import error_of, section

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_post_message_with_blocks_is_stored_and_recorded(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    blocks = [
        section("Resent *42*"),
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Undo"}}]},
    ]
    first = await client.chat_postMessage(channel="C0OPS0001", text="Resent 42", blocks=blocks)
    second = await client.chat_postMessage(channel="C0OPS0001", text="again")
    assert first["channel"] == "C0OPS0001"
    assert float(first["ts"]) < float(second["ts"])
    assert first["message"]["bot_id"] == BOT_ID and first["message"]["user"] == BOT_USER_ID
    stored = first["message"]["blocks"]
    # Slack fills in the block_id / action_id the app left out; the recorded args are what the bot sent.
    assert all(block["block_id"] for block in stored)
    assert stored[1]["elements"][0]["action_id"]
    call = emulator.calls("chat.postMessage")[0]
    assert call.args["blocks"] == blocks and call.ok and call.at > 0
    assert [m["ts"] for m in emulator.messages("C0OPS0001")] == [first["ts"], second["ts"]]


async def test_slack_limits_are_enforced(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    too_many = [section(str(i)) for i in range(51)]
    assert await error_of(client.chat_postMessage(channel="C1", text="x", blocks=too_many)) == "invalid_blocks"
    assert await error_of(client.chat_postMessage(channel="C1", text="x" * 40_001)) == "msg_too_long"
    assert await error_of(client.api_call("chat.postMessage", json={"text": "where?"})) == "channel_not_found"
    assert await error_of(client.api_call("chat.postMessage", json={"channel": "C1"})) == "no_text"
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel="C1", text="x", blocks=[section("y" * 3001)])
    assert info.value.response["errors"] == ["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"]
    empty_text = [{"type": "header", "text": {"type": "plain_text", "text": ""}}]
    assert await error_of(client.chat_postMessage(channel="C1", text="x", blocks=empty_text)) == "invalid_blocks"
    assert (await client.chat_postMessage(channel="C1", text="x" * 40_000, blocks=too_many[:50]))["ok"]
    assert len(emulator.calls("chat.postMessage", include_failed=True)) == 7
    assert len(emulator.messages("C1")) == 1


async def test_update_and_delete(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C1", text="Pause campaign?", blocks=[section("Pause?")])
    assert await error_of(client.chat_update(channel="C1", ts="1.000001", text="x")) == "message_not_found"
    updated = await client.chat_update(channel="C1", ts=posted["ts"], text="Paused", blocks=[section("Paused")])
    assert updated["ts"] == posted["ts"] and updated["message"]["text"] == "Paused"
    current = emulator.message("C1", posted["ts"])
    assert current is not None
    assert current["blocks"][0]["text"]["text"] == "Paused" and "edited" in current
    await client.chat_delete(channel="C1", ts=posted["ts"])
    assert emulator.messages("C1") == []
    assert await error_of(client.chat_delete(channel="C1", ts=posted["ts"])) == "message_not_found"


async def test_ephemeral_messages(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    answer = await client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert answer["message_ts"]
    assert emulator.messages("C1") == []
    [only] = emulator.ephemeral_messages("C1", "U1")
    assert only["text"] == "only you" and only["is_ephemeral"] and only["recipient"] == "U1"


async def test_a_channel_the_bot_is_not_in_refuses_posts_but_a_direct_message_goes(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    emulator.add_channel("C0NOTIN01", is_member=False)
    assert await error_of(client.chat_postMessage(channel="C0NOTIN01", text="hi")) == "not_in_channel"
    assert await error_of(client.chat_postEphemeral(channel="C0NOTIN01", user="U0ALICE01", text="hi")) == (
        "not_in_channel")
    assert emulator.messages("C0NOTIN01") == []
    sent = await client.chat_postMessage(channel="U0ALICE01", text="by DM")
    assert sent["channel"] == "D0ALICE01"
