"""Tests of the Slack Web API emulator, driven by the same slack_sdk client the bot uses, over real HTTP.

Each test module serves one uvicorn server; each test mounts a fresh emulator on it (the ``emulator`` and
``client`` fixtures, in conftest.py). The helpers here build the payloads the tests send.
"""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

TOKEN = "xoxb-test-token"


class FakeClock:
    """The emulator's monotonic clock, moved only by setting ``now``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def modal(title: str = "Upsert", **extra: Any) -> dict[str, Any]:
    return {"type": "modal", "title": {"type": "plain_text", "text": title}, "blocks": [], **extra}


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


async def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        await call
    return str(info.value.response["error"])
