"""The Slack Web API emulator, driven by the same slack_sdk client the bot uses, over real HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.devtools.slack_emulator import BOT_ID, BOT_USER_ID, SlackEmulator
from tests.conftest import EmulatorServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOKEN = "xoxb-test-token"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(emulator_server: EmulatorServer, clock: FakeClock) -> SlackEmulator:
    return emulator_server.mount(SlackEmulator(clock=clock))


@pytest.fixture
def client(emulator: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=emulator.api_url)


def modal(title: str = "Upsert", **extra: Any) -> dict[str, Any]:
    return {"type": "modal", "title": {"type": "plain_text", "text": title}, "blocks": [], **extra}


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


async def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        await call
    return str(info.value.response["error"])


# --- auth -------------------------------------------------------------------------------------------------------


async def test_auth_test_reports_the_bot(client: AsyncWebClient) -> None:
    answer = await client.auth_test()
    assert answer["team_id"] == "T0001"
    assert answer["user_id"] == BOT_USER_ID
    assert answer["bot_id"] == BOT_ID


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


# --- messages ---------------------------------------------------------------------------------------------------


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


async def test_form_encoded_blocks_are_decoded(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    answer = await client.api_call(
        "chat.postMessage", data={"channel": "C1", "text": "form", "blocks": '[{"type": "divider"}]'}
    )
    assert answer["message"]["blocks"][0]["type"] == "divider"
    assert emulator.calls("chat.postMessage")[0].args["blocks"] == [{"type": "divider"}]


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


async def test_strict_channels(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    emulator.strict_channels = True
    assert await error_of(client.chat_postMessage(channel="C404", text="x")) == "channel_not_found"
    emulator.add_channel("C0OPS0001", "ops")
    assert (await client.chat_postMessage(channel="C0OPS0001", text="x"))["ok"]
    dm = await client.chat_postMessage(channel="U012ABCDEF", text="psst")  # a user id posts to the app's DM
    assert dm["channel"] == "D012ABCDEF"


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


# --- views ------------------------------------------------------------------------------------------------------


async def test_views_open_needs_a_fresh_trigger(
    emulator: SlackEmulator, client: AsyncWebClient, clock: FakeClock
) -> None:
    trigger = emulator.new_trigger_id()
    opened = await client.views_open(trigger_id=trigger, view=modal(callback_id="upsert", private_metadata="g1:t2"))
    view = opened["view"]
    assert view["id"].startswith("V") and view["hash"] and view["callback_id"] == "upsert"
    assert view["root_view_id"] == view["id"] and view["state"] == {"values": {}}
    assert emulator.views[view["id"]]["private_metadata"] == "g1:t2"

    assert await error_of(client.views_open(trigger_id=trigger, view=modal())) == "exchanged_trigger_id"
    assert await error_of(client.views_open(trigger_id="123.456.abc", view=modal())) == "invalid_trigger_id"
    late = emulator.new_trigger_id()
    clock.now += 3.01
    assert await error_of(client.views_open(trigger_id=late, view=modal())) == "expired_trigger_id"


async def test_invalid_view_is_rejected_without_spending_the_trigger(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    trigger = emulator.new_trigger_id()
    with pytest.raises(SlackApiError) as info:
        await client.views_open(trigger_id=trigger, view=modal(title="A title far over the limit"))
    assert info.value.response["error"] == "invalid_arguments"
    assert "[json-pointer:/view/title/text]" in info.value.response["response_metadata"]["messages"][0]
    needs_submit = modal(
        blocks=[
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "Sender"},
                "element": {"type": "plain_text_input", "action_id": "sender"},
            }
        ]
    )
    assert await error_of(client.views_open(trigger_id=trigger, view=needs_submit)) == "invalid_arguments"
    assert (await client.views_open(trigger_id=trigger, view=modal()))["ok"]


async def test_views_update_and_push(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    view = (await client.views_open(trigger_id=emulator.new_trigger_id(), view=modal(external_id="upsert-1")))["view"]
    updated = (await client.views_update(view_id=view["id"], hash=view["hash"], view=modal(title="Saving…")))["view"]
    assert updated["id"] == view["id"] and updated["hash"] != view["hash"]
    assert emulator.views[view["id"]]["title"]["text"] == "Saving…"
    assert updated["external_id"] == "upsert-1"  # an update that omits external_id keeps it
    stale = client.views_update(view_id=view["id"], hash=view["hash"], view=modal())
    assert await error_of(stale) == "hash_conflict"
    by_external = await client.views_update(external_id="upsert-1", view=modal(title="Done"))
    assert by_external["view"]["id"] == view["id"]
    assert await error_of(client.views_update(view_id="V404", view=modal())) == "not_found"

    pushed = (await client.views_push(trigger_id=emulator.new_trigger_id(view_id=view["id"]), view=modal()))["view"]
    assert pushed["previous_view_id"] == view["id"] and pushed["root_view_id"] == view["id"]
    await client.views_push(trigger_id=emulator.new_trigger_id(view_id=pushed["id"]), view=modal())
    fourth = client.views_push(trigger_id=emulator.new_trigger_id(view_id=view["id"]), view=modal())
    assert await error_of(fourth) == "push_limit_reached"
    emulator.close_view(view["id"])
    assert emulator.views == {}


# --- directory --------------------------------------------------------------------------------------------------


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


# --- injected failures ------------------------------------------------------------------------------------------


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


# --- response_url -----------------------------------------------------------------------------------------------


async def test_response_url_posts_are_recorded_and_applied(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C1", text="Resend 42?", blocks=[section("Resend 42?")])
    url = emulator.new_response_url(channel_id="C1", user_id="U1", message_ts=posted["ts"])
    assert url.startswith(f"{emulator.base_url}/response/")
    async with httpx.AsyncClient() as http:
        replaced = await http.post(url, json={"replace_original": True, "text": "Resent 42", "blocks": []})
        assert replaced.status_code == 200 and replaced.json() == {"ok": True}
        await http.post(url, json={"text": "only you see this"})
        await http.post(url, json={"response_type": "in_channel", "text": "for everyone"})
        assert (await http.post(url, json={"response_type": "in_channel"})).text == "no_text"
        assert (await http.post(f"{emulator.base_url}/response/nope", json={"text": "x"})).status_code == 404

    current = emulator.messages("C1")
    assert current[0]["ts"] == posted["ts"] and current[0]["text"] == "Resent 42" and "blocks" not in current[0]
    assert current[1]["text"] == "for everyone"
    assert [m["text"] for m in emulator.ephemeral_messages("C1", "U1")] == ["only you see this"]
    call = emulator.calls("response_url")[0]
    assert call.args == {"replace_original": True, "text": "Resent 42", "blocks": [], "url": url}

    async with httpx.AsyncClient() as http:
        await http.post(url, json={"delete_original": True})
        await http.post(url, json={"text": "fifth use"})
        assert (await http.post(url, json={"text": "sixth use"})).text == "used_url"  # 5 uses per URL
    assert [m["text"] for m in emulator.messages("C1")] == ["for everyone"]


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


# --- waiting and watching ---------------------------------------------------------------------------------------


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
