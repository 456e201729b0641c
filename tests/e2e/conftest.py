"""The real AsyncApp served over HTTP on 127.0.0.1, the Slack emulator, and the vendor sandbox."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import build_app, close_app
from bot.devtools import slack_payloads as payloads
from bot.devtools.local_server import free_port
from bot.devtools.sandbox import DEMO
from bot.devtools.slack_emulator import Call, SlackEmulator
from bot.services import Services, build_services
from bot.serving import serve_http
from bot.settings import Settings
from tests.conftest import Sandbox

SIGNING_SECRET = "e2e-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-e2e-bot-token-0001"
CHANNEL = "C0OPS0001"
ALICE = ("U0ALICE01", "alice")
BOB = ("U0BOB0001", "bob")
# What the tests' bot allows unless a test gives its own ACCESS_POLICY: alice and bob may do everything.
DEFAULT_POLICY = f"""
[[grant]]
actions = ["*"]
users = ["{ALICE[0]}", "{BOB[0]}"]
"""


@dataclass
class Bot:
    url: str
    slack: SlackEmulator
    sandbox: Sandbox
    services: Services
    http: httpx.AsyncClient

    async def post(self, body: str, *, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.http.post(f"{self.url}/slack/events", content=body,
                                    headers=headers or payloads.sign(body, SIGNING_SECRET))

    async def command(self, command: str, text: str, *, user: tuple[str, str] = ALICE,
                      channel: str = CHANNEL) -> httpx.Response:
        body = payloads.slash_command(
            command, text, user_id=user[0], user_name=user[1], channel_id=channel,
            response_url=self.slack.new_response_url(channel_id=channel, user_id=user[0]),
            trigger_id=self.slack.new_trigger_id(),
        )
        return await self.post(body)

    async def click(self, message: dict[str, Any], *, action_id: str, value: str | None = None,
                    user: tuple[str, str] = ALICE, channel: str = CHANNEL) -> httpx.Response:
        action = payloads.button_action(message.get("blocks") or [], action_id=action_id, value=value)
        body = payloads.block_actions(
            action, user_id=user[0], user_name=user[1], channel_id=channel, message=message,
            response_url=self.slack.new_response_url(channel_id=channel, user_id=user[0],
                                                     message_ts=message.get("ts")),
            trigger_id=self.slack.new_trigger_id(),
        )
        return await self.post(body)

    async def reply(self, predicate: Any = None, timeout: float = 5.0) -> Call:
        """The next response-URL post (the bot's answer to a command or a click)."""
        return await self.slack.wait_for("response_url", predicate, timeout=timeout)

    async def settle(self) -> None:
        """Wait until the bot has finished every request it acknowledged (its own background work), so a check
        that something did not happen is not a race against a fixed sleep."""
        assert await self.services.background.drain(10) == 0, "the bot was still working after 10 s"

    async def vendor_calls(self, path: str) -> list[dict[str, Any]]:
        calls = (await self.http.get(f"{self.sandbox.url}/_sandbox/calls")).json()
        return [call for call in calls if call["path"] == path]

    async def fault(self, **rule: object) -> None:
        (await self.http.post(f"{self.sandbox.url}/_sandbox/faults", json=rule)).raise_for_status()


def bot_settings(sandbox: Sandbox, slack: SlackEmulator, tmp_path: Path, **extra: Any) -> Settings:
    default_policy = tmp_path / "default-policy.toml"
    default_policy.write_text(DEFAULT_POLICY)
    values: dict[str, Any] = {
        "access_policy": default_policy,
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": slack.api_url,
        "capillary_base_url": sandbox.url,
        "capillary_username": DEMO.capillary_username,
        "capillary_password": DEMO.capillary_password,
        "capillary_timeout_seconds": 0.5,
        # Calls are paced evenly over the minute (bot/vendors/rate_limit.py): at the default of 100 a minute, a test
        # making dozens of calls would wait tens of seconds. The limit's own tests set theirs.
        "capillary_rate_limit_per_minute": 6000, "comm_rate_limit_per_minute": 6000,
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/commops.db",
        **extra,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@contextlib.asynccontextmanager
async def running_bot(sandbox: Sandbox, tmp_path: Path, **extra: Any) -> AsyncIterator[Bot]:
    """A bot with settings ``extra`` on top of :func:`bot_settings` (e.g. ``access_policy=None``)."""
    slack = SlackEmulator()
    async with slack.serve():
        services = await build_services(bot_settings(sandbox, slack, tmp_path, **extra))
        app = build_app(services)
        async with serve_http(app, services, host="127.0.0.1", port=free_port()) as url, \
                httpx.AsyncClient(timeout=10) as http:
            yield Bot(url, slack, sandbox, services, http)
        await close_app(app)
        await services.aclose()


@pytest.fixture
async def bot(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Bot]:
    async with running_bot(sandbox, tmp_path) as running:
        yield running


def stale_headers(body: str) -> dict[str, str]:
    return payloads.sign(body, SIGNING_SECRET, timestamp=int(time.time()) - 6 * 60)
