"""Building the alert job against the e2e bot: the sandbox, the Slack emulator and the bot's own store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.job import AlertJob, build_alert_job
from bot.devtools.sandbox import DEMO, SEED
from bot.vendors.capillary import CapillaryClient
from bot.vendors.capillary.auth import BasicAuth
from handlers.alerts.blocks import RESEND, RESEND_ALL
from handlers.alerts.poster import SlackDigestPoster
from tests.e2e.conftest import BOT_TOKEN, Bot

ALERTS = "C0ALERTS1"
MISSING = "mobile:919811111111"  # not a seeded or synthetic customer: Capillary answers 1012
SYNTHETIC = ("mobile:919900000010", "mobile:919900000015", "mobile:919900000011")  # NOT-DELIVERED, FAILED, fine


def write_watchlist(tmp_path: Path, extra: tuple[str, ...] = ()) -> Path:
    path = tmp_path / "watchlist.txt"
    lines = ["# watched customers", "", *SEED.watchlist, *SYNTHETIC, MISSING, "phone:123", *extra]
    path.write_text("\n".join(lines) + "\n")
    return path


def fixed_clock(bot: Bot, minutes: int = 1) -> Callable[[], datetime]:
    moment = bot.sandbox.state.seeded_at + timedelta(minutes=minutes)
    return lambda: moment


def alert_job(bot: Bot, tmp_path: Path, *, clock: Callable[[], datetime] | None = None,
              capillary: CapillaryClient | None = None, extra: tuple[str, ...] = (), **kwargs: Any) -> AlertJob:
    settings = bot.services.settings.model_copy(update={"alert_channel": ALERTS,
                                                        "alert_watchlist": write_watchlist(tmp_path, extra)})
    slack = AsyncWebClient(token=BOT_TOKEN, base_url=bot.slack.api_url)
    job = build_alert_job(settings, capillary=capillary or bot.services.capillary, store=bot.services.store,
                          poster=SlackDigestPoster(slack), clock=clock or fixed_clock(bot), post_interval=0, **kwargs)
    assert job is not None
    return job


def fast_client(bot: Bot, **kwargs: Any) -> CapillaryClient:
    """A client whose backoff is short, so a 429 storm takes milliseconds in a test (and whose rate limit, which
    paces calls evenly, does not make it take seconds)."""
    kwargs.setdefault("rate_limit_per_minute", 6000)
    return CapillaryClient(bot.sandbox.url, BasicAuth(DEMO.capillary_username, DEMO.capillary_password_secret),
                           backoff_initial=0.01, backoff_max=0.05, timeout=2.0, **kwargs)


def digests(bot: Bot) -> list[dict[str, Any]]:
    """Top-level alert posts (thread replies left out), oldest first."""
    return [message for message in bot.slack.messages(ALERTS)
            if message.get("thread_ts") in (None, message.get("ts"))]


def replies(bot: Bot, root: dict[str, Any]) -> list[dict[str, Any]]:
    return [message for message in bot.slack.messages(ALERTS)
            if message.get("thread_ts") == root["ts"] and message["ts"] != root["ts"]]


def item_ids(message: dict[str, Any]) -> list[int]:
    return [int(block["block_id"].split(":")[1]) for block in message.get("blocks", [])
            if str(block.get("block_id", "")).startswith("alert:")]


__all__ = ["RESEND", "RESEND_ALL"]
