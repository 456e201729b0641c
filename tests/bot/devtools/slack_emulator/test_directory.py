"""``auth.test``, users, usergroups and channels, and which channels exist."""

from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.devtools.slack_emulator import BOT_ID, BOT_USER_ID, SlackEmulator
from tests.bot.devtools.slack_emulator import error_of

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_auth_test_reports_the_bot(client: AsyncWebClient) -> None:
    answer = await client.auth_test()
    assert answer["team_id"] == "T0001"
    assert answer["user_id"] == BOT_USER_ID
    assert answer["bot_id"] == BOT_ID


async def test_strict_channels(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    emulator.strict_channels = True
    assert await error_of(client.chat_postMessage(channel="C404", text="x")) == "channel_not_found"
    emulator.add_channel("C0OPS0001", "ops")
    assert (await client.chat_postMessage(channel="C0OPS0001", text="x"))["ok"]
    dm = await client.chat_postMessage(channel="U012ABCDEF", text="psst")  # a user id posts to the app's DM
    assert dm["channel"] == "D012ABCDEF"


async def test_users_usergroups_and_channels(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    emulator.add_user("U012ABCDEF", "asha", real_name="Asha Rao", tz="Asia/Kolkata")
    user = (await client.users_info(user="U012ABCDEF"))["user"]
    assert (user["id"], user["name"], user["real_name"]) == ("U012ABCDEF", "asha", "Asha Rao")
    assert (user["tz"], user["tz_offset"]) == ("Asia/Kolkata", 19_800)
    assert await error_of(client.users_info(user="U404")) == "user_not_found"

    emulator.add_usergroup("S0614TZR7", ["U012ABCDEF", "U2"])
    assert (await client.usergroups_users_list(usergroup="S0614TZR7"))["users"] == ["U012ABCDEF", "U2"]
    assert await error_of(client.usergroups_users_list(usergroup="S404")) == "no_such_subteam"

    emulator.add_channel("C0OPS0001", "ops-alerts")
    channel = (await client.conversations_info(channel="C0OPS0001"))["channel"]
    assert channel["name"] == "ops-alerts" and channel["is_channel"] and channel["is_member"]
