"""``commops shell`` with ALERT_CHANNEL set: the digest appears as it is posted and its buttons work there."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from bot.devtools.sandbox import SEED
from bot.devtools.shell.session import run_shell
from bot.settings import Settings

pytestmark = pytest.mark.usefixtures("root_logging")  # the shell sets up logging on the root logger


class _AfterDigest(io.StringIO):
    """Typed input that waits (in the shell's reader thread) until the digest has been drawn."""

    def __init__(self, lines: str, out: io.StringIO) -> None:
        super().__init__(lines)
        self._out = out
        self._ready = threading.Event()

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        for _ in range(500):  # ten seconds at most, so a failure cannot hang the run
            if self._ready.is_set() or "undelivered messages" in self._out.getvalue().lower():
                self._ready.set()
                break
            self._ready.wait(0.02)
        return super().readline()


async def test_the_shell_shows_the_digest_and_its_resend_button_works(tmp_path: Path) -> None:
    watchlist = tmp_path / "watchlist.txt"
    watchlist.write_text("\n".join(SEED.watchlist) + "\n")
    out = io.StringIO()
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/shell.db",
                        alert_channel="C0ALERTS1", alert_interval_seconds=1, alert_watchlist=watchlist)
    await run_shell(settings, [], stdin=_AfterDigest("1\nquit\n", out), stdout=out)
    shown = out.getvalue()
    assert "commops posted in #C0ALERTS1" in shown and "6 undelivered messages" in shown.lower()
    assert "commops updated in #C0ALERTS1" in shown and "resent by" in shown
