"""What every part of the Slack emulator shares: the bot's identity, Slack's limits, the recorded :class:`Call`,
the :class:`Failure` a method raises to answer with an error, and :class:`EmulatorBase`, the settings the parts read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]

BOT_USER_ID = "U0BOT0001"
BOT_ID = "B0BOT0001"
BOT_NAME = "commops"

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 40_000
RESPONSE_URL_USES = 5  # Slack: a response_url works up to 5 times within 30 minutes
RESPONSE_URL_TTL = 30 * 60.0


@dataclass(frozen=True)
class Call:
    """One request the emulator answered: the decoded arguments (token left out), when (``time.time()``), and
    either ``error`` or, on success, ``result`` (the answer without ``ok``, e.g. the new message's ``ts`` or the
    opened view's ``id``). Response-URL posts have method ``"response_url"`` and the URL in ``args["url"]``.
    """

    method: str
    args: dict[str, Any]
    at: float
    error: str | None = None
    result: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Failure(Exception):
    """A Slack error answer: ``{"ok": false, "error": ...}`` plus extra fields."""

    def __init__(
        self, error: str, *, status: int = 200, headers: Mapping[str, str] | None = None, extra: JSON | None = None
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = dict(headers or {})
        self.extra = extra or {}


def problems(messages: list[str]) -> JSON:
    return {"response_metadata": {"messages": [f"[ERROR] {m}" for m in messages]}}


class EmulatorBase:
    """The settings :class:`~bot.devtools.slack_emulator.SlackEmulator` takes (its constructor sets them; tests
    may change them later) and the address it is served on, declared once for every part that reads them."""

    tokens: set[str] | None
    trigger_ttl: float
    strict_channels: bool
    clock: Callable[[], float]
    latency: float
    base_url: str | None

    def _base(self) -> str:
        if self.base_url is None:
            raise RuntimeError("SlackEmulator.base_url is not set: serve it (emulator.serve()) or set it first")
        return self.base_url
