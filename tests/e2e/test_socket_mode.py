"""Socket Mode end to end: the real app, connected through slack_sdk's Socket Mode client to the emulator's
WebSocket, serving commands, clicks and forms, reconnecting when Slack asks or drops, and saying so on /readyz."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.app import build_app, close_app
from bot.devtools import slack_payloads as payloads
from bot.devtools.local_server import free_port
from bot.devtools.sandbox import DEMO
from bot.devtools.slack_emulator import SlackEmulator
from bot.services import build_services
from bot.serving import serve_socket
from tests.bot.test_cli import environment
from tests.conftest import Sandbox
from tests.e2e.conftest import ALICE, BOB, BOT_TOKEN, CHANNEL, DEFAULT_POLICY, bot_settings
from tests.e2e.socket_support import APP_TOKEN, SocketBot, metric, running_socket_bot
from tests.e2e.test_resend import SEED, SEED_RESENT, text_of

NOT_FOUND = 174606165  # Capillary knows no such message


@pytest.fixture
async def sbot(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[SocketBot]:
    async with running_socket_bot(sandbox, tmp_path) as running:
        yield running


async def test_resend_a_click_and_a_form_are_acked_in_time_and_answered(sbot: SocketBot) -> None:
    ack = await sbot.acked(await sbot.command("/resend", str(SEED)))
    assert ack.text is not None and f"Resending message {SEED}" in ack.text
    reply = await sbot.reply()
    assert reply.args["response_type"] == "in_channel" and str(SEED_RESENT) in text_of(reply.args)

    sbot.slack.clear()
    await sbot.acked(await sbot.command("/resend", str(SEED), user=BOB))
    assert "Not resent again" in text_of((await sbot.reply()).args)
    message = sbot.slack.messages(CHANNEL)[-1]
    sbot.slack.clear()
    click = await sbot.acked(await sbot.click(message, action_id="resend.anyway", value=f"{SEED}@1", user=BOB))
    assert click.payload is None  # a button's ack is empty; the answer replaces the message
    update = await sbot.reply()
    assert update.args.get("replace_original") is True and "resend anyway by <@U0BOB0001>" in text_of(update.args)

    await sbot.acked(await sbot.command("/comm", "upsert"))
    opened = await sbot.slack.wait_for("views.open")
    assert opened.result is not None
    view = sbot.slack.views[opened.result["view"]["id"]]
    submitted = await sbot.acked(await sbot.submit(view, {"group": "-3", "target": "2996", "type": "FINISH",
                                                          "channel": "1", "sender": "CAPLOY", "message": "Hi",
                                                          "offset": "400", "active": "true"}))
    assert submitted.response_action == "errors"
    assert submitted.payload is not None and set(submitted.payload["errors"]) == {"group", "offset"}
    await sbot.settle()
    assert all(ack.in_time for ack in sbot.slack.acks.values())


async def test_after_slack_asks_to_reconnect_the_bot_serves_on_the_new_connection(sbot: SocketBot) -> None:
    first = await sbot.slack.wait_connected()
    newest = await sbot.slack.disconnect("refresh_requested")
    second = await sbot.slack.wait_connected(after=newest)
    assert second > first
    envelope = await sbot.command("/resend", str(NOT_FOUND))
    assert envelope.connection == second
    await sbot.acked(envelope)
    reply = await sbot.reply()
    assert f"Message {NOT_FOUND} was not found" in text_of(reply.args)
    assert len(sbot.slack.calls("apps.connections.open")) == 2


async def test_readiness_follows_the_socket(sbot: SocketBot) -> None:
    ready = await sbot.ready_becomes(200)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "store": "ok", "schema": "current", "socket": "connected"}
    assert (await sbot.probe("/healthz")).json()["status"] == "ok"

    await sbot.slack.take_down()
    down = await sbot.ready_becomes(503)
    assert down.status_code == 503
    assert down.json()["missing"] == ["socket"] and down.json()["socket"] == "disconnected"
    assert (await sbot.probe("/healthz")).status_code == 200  # alive, only not ready

    sbot.slack.bring_up()
    assert (await sbot.ready_becomes(200)).status_code == 200
    await sbot.acked(await sbot.command("/resend", str(SEED)))
    assert str(SEED_RESENT) in text_of((await sbot.reply()).args)
    await sbot.settle()
    metrics = (await sbot.probe("/metrics")).text
    assert metric(metrics, "commops_requests_total", kind="command", name="/resend", outcome="ok") >= 1
    assert metric(metrics, "commops_ack_seconds_count", kind="command") >= 1


async def test_a_denied_command_is_answered_in_the_ack(sbot: SocketBot) -> None:
    ack = await sbot.acked(await sbot.command("/resend", str(SEED), user=("U0EVE0001", "eve")))
    assert ack.text is not None and "not allowed to run `resend`" in ack.text
    await sbot.settle()
    assert sbot.slack.calls("response_url") == []
    assert ALICE[0] not in ack.text


async def test_commops_run_serves_socket_mode_with_its_health_port_and_json_logs(
        sandbox: Sandbox, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(DEFAULT_POLICY)
    health = f"http://127.0.0.1:{free_port()}"
    slack = SlackEmulator(app_tokens={APP_TOKEN})
    async with slack.serve(), httpx.AsyncClient(timeout=5) as http:
        env = environment(
            SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=slack.api_url,
            CAPILLARY_BASE_URL=sandbox.url, CAPILLARY_USERNAME=DEMO.capillary_username,
            CAPILLARY_PASSWORD=DEMO.capillary_password, ACCESS_POLICY=str(policy), HEALTH_PORT=health.rsplit(":")[-1],
            LOG_FORMAT="json", LOG_LEVEL="INFO", DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/commops.db")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            await slack.wait_connected(timeout=30)
            for _ in range(100):
                ready = await http.get(f"{health}/readyz")
                if ready.status_code == 200:
                    break
                await asyncio.sleep(0.1)
            assert ready.json()["socket"] == "connected"
            envelope = await slack.send_command(payloads.slash_command(
                "/resend", str(SEED), user_id=ALICE[0], user_name=ALICE[1], channel_id=CHANNEL,
                response_url=slack.new_response_url(channel_id=CHANNEL, user_id=ALICE[0]), trigger_id="t"))
            await slack.ack_of(envelope)
            assert str(SEED_RESENT) in text_of((await slack.wait_for("response_url", timeout=10)).args)
            for _ in range(100):  # counted when the work after the ack ends, a moment after the reply
                metrics = (await http.get(f"{health}/metrics")).text
                if metric(metrics, "commops_requests_total", kind="command", name="/resend", outcome="ok"):
                    break
                await asyncio.sleep(0.05)
            assert metric(metrics, "commops_vendor_calls_total", vendor="capillary", operation="resend",
                          status="200") == 1
            process.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(process.communicate(), timeout=20)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0
    lines = [json.loads(line) for line in err.decode().splitlines()]  # every line is one JSON object
    caused = [line for line in lines if "attempt_id" in line]
    assert caused and {(line["user"], line["action"]) for line in caused} == {(ALICE[0], "resend")}
    assert any("Socket Mode" in line["message"] for line in lines)
    assert BOT_TOKEN not in err.decode() and APP_TOKEN not in err.decode()


async def test_a_taken_health_port_stops_the_start_before_any_connection(sandbox: Sandbox, tmp_path: Path) -> None:
    slack = SlackEmulator(app_tokens={APP_TOKEN})
    async with slack.serve():
        services = await build_services(bot_settings(sandbox, slack, tmp_path, slack_app_token=APP_TOKEN))
        app = build_app(services)
        try:
            with socket.socket() as taken:
                taken.bind(("127.0.0.1", 0))
                taken.listen()
                with pytest.raises(OSError):
                    async with serve_socket(app, services, APP_TOKEN, host="127.0.0.1",
                                            health_port=taken.getsockname()[1]):
                        raise AssertionError("served on a taken port")
        finally:
            await close_app(app)
            await services.aclose()
    assert slack.calls("apps.connections.open") == []


async def test_the_home_tab_and_the_shortcut_work_over_the_socket(sbot: SocketBot) -> None:
    await sbot.acked(await sbot.slack.send_event(payloads.app_home_opened(ALICE[0])))
    published = await sbot.slack.wait_for("views.publish")
    assert published.ok and published.args["user_id"] == ALICE[0]
    assert "What you may do" in str(sbot.slack.home_views[ALICE[0]]["blocks"])

    message = {"type": "message", "user": "U0OTHER01", "ts": "1764200000.000100", "text": f"failed: {SEED}"}
    await sbot.acked(await sbot.slack.send_interactive(payloads.message_action(
        message, callback_id="resend_from_message", user_id=ALICE[0], user_name=ALICE[1], channel_id=CHANNEL,
        response_url=sbot.slack.new_response_url(channel_id=CHANNEL, user_id=ALICE[0]),
        trigger_id=sbot.slack.new_trigger_id())))
    opened = await sbot.slack.wait_for("views.open")
    assert opened.result is not None
    await sbot.acked(await sbot.submit(sbot.slack.views[opened.result["view"]["id"]], {}))
    posted = await sbot.slack.wait_for("chat.postMessage")
    assert posted.args["channel"] == CHANNEL and str(SEED_RESENT) in text_of(posted.args)
