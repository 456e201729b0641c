"""The real AsyncApp served over HTTP on 127.0.0.1, the Slack emulator, and the vendor sandbox."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_bolt.async_app import AsyncApp

from bot.app import build_app, close_app, start_schedule
from bot.devtools import slack_payloads as payloads
from bot.devtools.local_server import free_port
from bot.devtools.sandbox import DEMO
from bot.devtools.slack_emulator import Call, SlackEmulator
from bot.schedule.runner import ScheduleRunner
from bot.services import Services, build_services, utc_now
from bot.serving import Limits, serve_http
from bot.settings import Settings
from handlers.middleware.edge import edge_of
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
    app: AsyncApp
    runner: ScheduleRunner | None = None  # the scheduled-actions runner, when the test started it

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
async def running_bot(sandbox: Sandbox, tmp_path: Path, *, limits: Limits | None = None,
                      slack: SlackEmulator | None = None, clock: Callable[[], datetime] = utc_now,
                      schedule: bool = False, **extra: Any) -> AsyncIterator[Bot]:
    """A bot with settings ``extra`` on top of :func:`bot_settings` (e.g. ``access_policy=None``), and the HTTP
    server's ``limits`` when given. Replicas share one ``slack`` (one workspace), else each gets its own.
    ``clock`` is the bot's; ``schedule`` starts the runner of scheduled actions as ``commops run`` does."""
    async with contextlib.AsyncExitStack() as stack:
        if slack is None:
            slack = SlackEmulator()
            await stack.enter_async_context(slack.serve())
        services = await build_services(bot_settings(sandbox, slack, tmp_path, **extra), clock=clock)
        app = build_app(services)
        runner = start_schedule(services, app.client) if schedule else None
        async with serve_http(app, services, host="127.0.0.1", port=free_port(), limits=limits) as url, \
                httpx.AsyncClient(timeout=10) as http:
            edge = edge_of(app)
            assert edge is not None and await edge.identity.get() is not None  # learnt at start, as in production
            yield Bot(url, slack, sandbox, services, http, app, runner)
        await services.background.finish(10)  # as commops run stops: nothing in flight when the store closes
        if runner is not None:
            await runner.stop()
        await close_app(app)
        await services.aclose()


@pytest.fixture
async def bot(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Bot]:
    async with running_bot(sandbox, tmp_path) as running:
        yield running


def stale_headers(body: str) -> dict[str, str]:
    return payloads.sign(body, SIGNING_SECRET, timestamp=int(time.time()) - 6 * 60)


@pytest.fixture
async def guarded(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Bot]:
    """A bot under the access tests' policy (tests/e2e/access_support.py)."""
    from tests.e2e.access_support import guarded_bot  # it builds on this module: imported when used

    async with guarded_bot(sandbox, tmp_path) as running:
        yield running


@pytest.fixture
async def cbot(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Bot]:
    """A bot that also reaches Comm, with the campaign tests' policy (tests/e2e/campaign_support.py)."""
    from tests.e2e.campaign_support import campaign_bot  # it builds on this module: imported when used

    async with campaign_bot(sandbox, tmp_path) as running:
        yield running
