"""`commops shell` driven through its stdin, as a person at a terminal would use it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
VENDOR_SETTINGS = ("CAPILLARY_BASE_URL", "COMM_API_TOKEN", "ACCESS_POLICY", "SLACK_APP_TOKEN", "DATABASE_URL")


def run_shell(lines: list[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in VENDOR_SETTINGS}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "bot", "shell"], input="\n".join(lines) + "\n", text=True,
                          capture_output=True, cwd=cwd, env=env, timeout=timeout)


def test_the_shell_resends_against_the_sandbox_and_its_buttons_work(tmp_path: Path) -> None:
    result = run_shell(["/resend 1746061653596", "/resend 1746061653596", "1", "y", "/resend abc", "quit"],
                       tmp_path)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "using the built-in sandbox" in out
    assert "resent as `1748743190124`" in out
    assert "Not resent again" in out and "[1] Resend anyway" in out
    assert "Resend again?" in out  # the confirm dialog was asked before anything was sent
    assert "resend anyway by @" in out
    assert "“abc” is not a message id" in out
    assert "Traceback" not in out + result.stderr


def test_cancelling_a_confirm_sends_nothing(tmp_path: Path) -> None:
    result = run_shell(["/resend 1746061653596", "/resend 1746061653596", "1", "n"], tmp_path)
    assert "Cancelled." in result.stdout
    assert "resend anyway by" not in result.stdout


def test_eof_waits_for_the_answer_and_unknown_input_is_explained(tmp_path: Path) -> None:
    result = run_shell(["hello", "7", "/resend 174606165"], tmp_path)
    assert "Commands start with /" in result.stdout
    assert "There is no button 7." in result.stdout
    assert "Message 174606165 was not found in org 100737" in result.stdout


def test_the_shell_shows_the_home_tab_and_runs_the_shortcut_on_a_pasted_message(tmp_path: Path) -> None:
    result = run_shell(["home", "shortcut", "Undelivered today:", "1746061653596 (sms) and 1746061653601", "", "",
                        "home", "quit"], tmp_path)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "── Home tab" in out and "WHAT YOU MAY DO" in out and "[1] Refresh" in out
    assert "Found 2 message ids in this message" in out
    assert "resent as `1748743190124`" in out
    assert "Resend: 2 resent. The result was posted in #C0SHELL01." in out
    assert "`resend` `1746061653596`" in out  # the Home tab, drawn again, lists the resend
    assert "Traceback" not in out + result.stderr
