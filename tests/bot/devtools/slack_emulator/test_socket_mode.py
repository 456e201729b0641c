"""Socket Mode: the app token, the WebSocket's hello, envelopes and acks, and the ways Slack makes an app
reconnect; driven by a raw aiohttp WebSocket and by slack_sdk's own Socket Mode client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.devtools import slack_payloads as payloads
from bot.devtools.slack_emulator import LateAck, SlackEmulator, socket_payload
from tests.bot.devtools.slack_emulator import TOKEN, FakeClock, error_of

pytestmark = pytest.mark.asyncio(loop_scope="module")

APP_TOKEN = "xapp-1-A0COMMOPS-1-secret"


@pytest_asyncio.fixture(loop_scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def open_url(emulator: SlackEmulator) -> str:
    reply = await AsyncWebClient(base_url=emulator.api_url).apps_connections_open(app_token=APP_TOKEN)
    return str(reply["url"])


async def next_json(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.receive(), 5)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    found = json.loads(message.data)
    assert isinstance(found, dict)
    return found


async def test_connections_open_takes_the_app_token_only(emulator: SlackEmulator) -> None:
    assert await error_of(AsyncWebClient(token=TOKEN, base_url=emulator.api_url).apps_connections_open(
        app_token=TOKEN)) == "not_allowed_token_type"
    assert await error_of(AsyncWebClient(token=APP_TOKEN, base_url=emulator.api_url).auth_test()) == (
        "not_allowed_token_type")
    emulator.app_tokens = {"xapp-1-other"}
    assert await error_of(AsyncWebClient(base_url=emulator.api_url).apps_connections_open(app_token=APP_TOKEN)) == (
        "invalid_auth")
    emulator.app_tokens = None
    url = await open_url(emulator)
    assert url.startswith(emulator.api_url.replace("http://", "ws://").removesuffix("/api/") + "/link/?ticket=")
    assert "app_id=A0COMMOPS" in url


async def test_hello_then_an_envelope_and_its_ack(emulator: SlackEmulator, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(await open_url(emulator)) as ws:
        hello = await next_json(ws)
        assert hello["type"] == "hello" and hello["num_connections"] == 1
        assert hello["connection_info"] == {"app_id": "A0COMMOPS"}
        assert emulator.connections == 1
        body = payloads.slash_command("/resend", "42", user_id="U1", user_name="ann", channel_id="C1",
                                      response_url="http://x/response/1", trigger_id="t")
        sent = await emulator.send_command(body)
        envelope = await next_json(ws)
        assert envelope == {"envelope_id": sent.envelope_id, "type": "slash_commands",
                            "payload": socket_payload(body), "accepts_response_payload": True}
        assert envelope["payload"]["command"] == "/resend" and envelope["payload"]["text"] == "42"
        await ws.send_json({"envelope_id": sent.envelope_id, "payload": {"text": "usage"}})
        ack = await emulator.ack_of(sent)
        assert ack.text == "usage" and ack.in_time and ack.seconds == 0


async def test_an_ack_must_carry_the_id_and_come_within_3_seconds(
        emulator: SlackEmulator, http: aiohttp.ClientSession, clock: FakeClock) -> None:
    async with http.ws_connect(await open_url(emulator)) as ws:
        await next_json(ws)
        first = await emulator.send_interactive({"type": "block_actions", "actions": []})
        await next_json(ws)
        await ws.send_json({"envelope_id": "not-this-one"})
        with pytest.raises(LateAck, match="not acknowledged"):
            await emulator.ack_of(first, timeout=0.2)
        second = await emulator.send_interactive({"type": "view_submission"})
        await next_json(ws)
        clock.now += 3.5
        await ws.send_json({"envelope_id": second.envelope_id, "payload": {"response_action": "errors"}})
        await asyncio.sleep(0.1)
        with pytest.raises(LateAck, match=r"after 3\.50s"):
            await emulator.ack_of(second)
        assert emulator.acks[second.envelope_id].response_action == "errors"
        assert emulator.app_messages == [{"envelope_id": "not-this-one"}]


async def test_a_ticket_is_good_for_one_connection(emulator: SlackEmulator, http: aiohttp.ClientSession) -> None:
    url = await open_url(emulator)
    async with http.ws_connect(url) as ws:
        await next_json(ws)
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await http.ws_connect(url)


async def test_disconnect_drop_and_downtime(emulator: SlackEmulator, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(await open_url(emulator)) as ws:
        await next_json(ws)
        await emulator.disconnect()
        assert await next_json(ws) == {"type": "disconnect", "reason": "refresh_requested",
                                       "debug_info": {"host": "applink-emulator"}}
        await emulator.take_down()
        closing = await asyncio.wait_for(ws.receive(), 5)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert emulator.connections == 0
    url = await open_url(emulator)
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await http.ws_connect(url)
    emulator.bring_up()
    async with http.ws_connect(url) as ws:  # the refused handshake left the ticket unused
        assert (await next_json(ws))["type"] == "hello"
    with pytest.raises(RuntimeError, match="no Socket Mode connection"):
        await emulator.send_event({"type": "event_callback"})


async def test_slack_sdks_client_connects_acks_and_reconnects(emulator: SlackEmulator) -> None:
    client = SocketModeClient(app_token=APP_TOKEN, web_client=AsyncWebClient(base_url=emulator.api_url),
                              ping_interval=1)

    async def ack(client: Any, request: SocketModeRequest) -> None:
        await client.send_socket_mode_response(SocketModeResponse(request.envelope_id, {"text": "got it"}))

    client.socket_mode_request_listeners.append(ack)
    try:
        await client.connect()
        first = await emulator.wait_connected()
        assert await client.is_connected()
        assert (await emulator.ack_of(await emulator.send_command({"command": "/resend", "text": "1"}))).text == (
            "got it")
        newest = await emulator.disconnect()
        second = await emulator.wait_connected(after=newest)
        assert second > first
        for _ in range(100):  # the client closes the old connection once the new one is up
            if emulator.connections == 1:
                break
            await asyncio.sleep(0.02)
        assert emulator.connections == 1
        assert (await emulator.ack_of(await emulator.send_command({"command": "/resend", "text": "2"}))).text == (
            "got it")
        assert len(emulator.calls("apps.connections.open")) == 2
    finally:
        await client.close()
