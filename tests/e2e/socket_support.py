"""The real AsyncApp served in Socket Mode (bot.serving.serve_socket, as ``commops run`` serves it) against the
Slack emulator's Socket Mode server, and what a test sends through it; plus reading /metrics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.app import build_app, close_app
from bot.devtools import slack_payloads as payloads
from bot.devtools.local_server import free_port
from bot.devtools.slack_emulator import Ack, Call, Envelope, SlackEmulator
from bot.services import Services, build_services
from bot.serving import SocketServing, serve_socket
from tests.conftest import Sandbox
from tests.e2e.conftest import ALICE, CHANNEL, bot_settings

APP_TOKEN = "xapp-1-A0COMMOPS-1-e2e0123456789abcdef"
PING_SECONDS = 2.0  # slack_sdk's ping (and its reconnect pace); Slack's client default is 10


@dataclass
class SocketBot:
    slack: SlackEmulator
    sandbox: Sandbox
    services: Services
    serving: SocketServing
    http: httpx.AsyncClient

    async def command(self, command: str, text: str, *, user: tuple[str, str] = ALICE,
                      channel: str = CHANNEL) -> Envelope:
        return await self.slack.send_command(payloads.slash_command(
            command, text, user_id=user[0], user_name=user[1], channel_id=channel,
            response_url=self.slack.new_response_url(channel_id=channel, user_id=user[0]),
            trigger_id=self.slack.new_trigger_id(),
        ))

    async def click(self, message: dict[str, Any], *, action_id: str, value: str | None = None,
                    user: tuple[str, str] = ALICE, channel: str = CHANNEL) -> Envelope:
        action = payloads.button_action(message.get("blocks") or [], action_id=action_id, value=value)
        return await self.slack.send_interactive(payloads.block_actions(
            action, user_id=user[0], user_name=user[1], channel_id=channel, message=message,
            response_url=self.slack.new_response_url(channel_id=channel, user_id=user[0],
                                                     message_ts=message.get("ts")),
            trigger_id=self.slack.new_trigger_id(),
        ))

    async def submit(self, view: dict[str, Any], values: dict[str, Any], *,
                     user: tuple[str, str] = ALICE) -> Envelope:
        return await self.slack.send_interactive(payloads.view_submission(
            view, values, user_id=user[0], user_name=user[1],
            trigger_id=self.slack.new_trigger_id(view_id=view["id"])))

    async def acked(self, envelope: Envelope) -> Ack:
        """The envelope's ack, which must come with its id within Slack's 3 seconds."""
        return await self.slack.ack_of(envelope)

    async def reply(self, predicate: Any = None, timeout: float = 5.0) -> Call:
        return await self.slack.wait_for("response_url", predicate, timeout=timeout)

    async def settle(self) -> None:
        assert await self.services.background.drain(10) == 0, "the bot was still working after 10 s"

    async def probe(self, path: str) -> httpx.Response:
        return await self.http.get(f"{self.serving.health_url}{path}")

    async def ready_becomes(self, status: int, timeout: float = 15.0) -> httpx.Response:
        """Poll /readyz until it answers ``status``; the last answer."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            response = await self.probe("/readyz")
            if response.status_code == status or asyncio.get_running_loop().time() > deadline:
                return response
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def running_socket_bot(sandbox: Sandbox, tmp_path: Path, **extra: Any) -> AsyncIterator[SocketBot]:
    slack = SlackEmulator(app_tokens={APP_TOKEN})
    async with slack.serve():
        settings = bot_settings(sandbox, slack, tmp_path, slack_signing_secret=None, slack_app_token=APP_TOKEN,
                                **extra)
        services = await build_services(settings)
        app = build_app(services)
        try:
            async with serve_socket(app, services, APP_TOKEN, host="127.0.0.1", health_port=free_port(),
                                    ping_interval=PING_SECONDS) as serving, httpx.AsyncClient(timeout=10) as http:
                await slack.wait_connected()
                yield SocketBot(slack, sandbox, services, serving, http)
            await services.background.drain(10)
        finally:
            await close_app(app)
            await services.aclose()


def metric(text: str, sample_name: str, /, **labels: str) -> float:
    """The value of sample ``sample_name`` with exactly ``labels`` in a /metrics text (0 when it is not there)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == sample_name and sample.labels == labels:
                return float(sample.value)
    return 0.0
