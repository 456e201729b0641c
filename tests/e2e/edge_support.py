"""What the edge tests share: raw signing, an attacker's reply sink, and "nothing happened" checks."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import web

from bot.devtools import slack_payloads as payloads
from bot.devtools.local_server import free_port
from tests.e2e.conftest import ALICE, CHANNEL, SIGNING_SECRET, Bot

SEED = 1746061653596  # a message the sandbox knows and /resend resends


def signed(raw: bytes, *, secret: str = SIGNING_SECRET, timestamp: int | None = None,
           content_type: str = payloads.FORM_CONTENT_TYPE) -> dict[str, str]:
    """Slack's headers for raw bytes (``payloads.sign`` signs text)."""
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), b"v0:" + str(ts).encode() + b":" + raw, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}", "Content-Type": content_type}


def signature_over(raw: bytes, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    """``X-Slack-Signature`` over a timestamp header's literal text."""
    base = b"v0:" + timestamp.encode() + b":" + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def form_payload(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def command_body(bot: Bot, text: str, *, command: str = "/resend", response_url: str | None = None,
                 team_id: str = payloads.TEAM_ID) -> str:
    return payloads.slash_command(
        command, text, user_id=ALICE[0], user_name=ALICE[1], channel_id=CHANNEL, team_id=team_id,
        response_url=response_url or bot.slack.new_response_url(channel_id=CHANNEL, user_id=ALICE[0]),
        trigger_id=bot.slack.new_trigger_id())


def click_payload(bot: Bot, *, value: Any = f"{SEED}@1", response_url: str | None = None) -> dict[str, Any]:
    """A block_actions payload for the Resend-anyway button, as Slack sends it (a dict to spoil in tests)."""
    message = {"ts": "1700000000.000100", "text": "resent", "blocks": [
        {"type": "actions", "block_id": "b1", "elements": [
            {"type": "button", "action_id": "resend.anyway", "value": "x",
             "text": {"type": "plain_text", "text": "Resend anyway"}}]}]}
    action = payloads.button_action(message, action_id="resend.anyway")
    action["value"] = value
    body = payloads.block_actions(
        action, user_id=ALICE[0], user_name=ALICE[1], channel_id=CHANNEL, message=message,
        response_url=response_url or bot.slack.new_response_url(channel_id=CHANNEL, user_id=ALICE[0],
                                                                message_ts=message["ts"]),
        trigger_id=bot.slack.new_trigger_id())
    payload: dict[str, Any] = json.loads(dict(parse_qsl(body))["payload"])
    return payload


@dataclass
class Sink:
    """A server that stands for an attacker's URL: it records every request it gets."""

    url: str
    hits: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def attacker_sink() -> AsyncIterator[Sink]:
    sink = Sink("")

    async def record(request: web.Request) -> web.Response:
        sink.hits.append(f"{request.method} {request.path}")
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    sink.url = f"http://127.0.0.1:{port}"
    try:
        yield sink
    finally:
        await runner.cleanup()


async def assert_nothing_happened(bot: Bot) -> None:
    """After the bot's own work is done: no reply anywhere, no Slack call (but learning who it is), no vendor
    call, nothing audited."""
    await bot.settle()
    slack_calls = [call.method for call in bot.slack.calls(include_failed=True) if call.method != "auth.test"]
    assert slack_calls == []
    assert bot.sandbox.state.recorded_calls() == []
    assert await bot.services.audit.query() == []
