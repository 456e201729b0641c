"""No credential reaches the logs (at DEBUG), Slack, or the audit log during a full /resend flow."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.audit.log import AuditEntry
from bot.devtools.sandbox import DEMO
from bot.logs import configure_logging, known_secrets
from tests.e2e.conftest import BOB, BOT_TOKEN, CHANNEL, SIGNING_SECRET, Bot

SEED = 1746061653596
CAROL = ("U0CAROL01", "carol")


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Every log line of the run, through the bot's own redacting set-up at DEBUG; pytest's handlers restored."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "aiohttp.access")}
    stream = io.StringIO()
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)


async def test_no_secret_is_logged_posted_or_audited(bot: Bot, debug_log: io.StringIO) -> None:
    configure_logging("DEBUG", known_secrets(bot.services.settings), stream=debug_log)
    digest = hashlib.md5(DEMO.capillary_password.encode()).hexdigest()
    basic = base64.b64encode(f"{DEMO.capillary_username}:{digest}".encode()).decode()
    secrets = {"bot token": BOT_TOKEN, "signing secret": SIGNING_SECRET, "password": DEMO.capillary_password,
               "password md5": digest, "basic header": basic}

    await bot.command("/resend", str(SEED))  # resent
    await bot.reply()
    await bot.command("/resend", str(SEED), user=BOB)  # resent recently: offers Resend anyway
    await bot.reply(lambda call: "Not resent again" in str(call.args))
    await bot.click(bot.slack.messages(CHANNEL)[-1], action_id="resend.anyway", value=f"{SEED}@1", user=BOB)
    await bot.reply(lambda call: call.args.get("replace_original") is True)
    await bot.fault(path="/v2/communications/resend", kind="status", status=401)
    await bot.command("/resend", "9000000000001")  # Capillary refuses the credentials
    await bot.reply(lambda call: "9000000000001" in str(call.args))
    await bot.command("/resend", "abc")  # invalid
    await bot.command("/resend", str(SEED), user=CAROL)  # denied
    await bot.command("/comm", "audit")  # alice holds audit.read (the default policy grants her *)
    await bot.reply(lambda call: "Audit log" in str(call.args))
    entries = await _audit_rows(bot, 7)  # ok, duplicate, forced ok, vendor error, invalid, denied, audit.read

    logged = debug_log.getvalue()
    assert "DEBUG" in logged and "commops.resend" in logged  # the capture really saw the run
    slack = json.dumps([dataclasses.asdict(call) for call in bot.slack.calls(include_failed=True)], default=str)
    audited = json.dumps([dataclasses.asdict(entry) for entry in entries], default=str)
    for where, text in (("logs", logged), ("Slack", slack), ("audit log", audited)):
        for name, secret in secrets.items():
            assert secret not in text, f"the {name} reached the {where}"
        assert "Basic " not in text and "xoxb-" not in text, f"an auth header or token reached the {where}"


async def _audit_rows(bot: Bot, count: int) -> list[AuditEntry]:
    """The rows once there are ``count``: denials and invalid requests are written just after their ack."""
    await bot.settle()
    entries = await bot.services.audit.query(limit=None)
    assert len(entries) >= count, f"expected {count} audit rows, got {entries}"
    return entries
