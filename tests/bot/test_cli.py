"""The command line as an operator meets it: one clear line for bad settings, a clean start and stop."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest

from bot.devtools.local_server import free_port
from bot.devtools.sandbox import DEMO
from tests.conftest import Sandbox

ROOT = Path(__file__).resolve().parents[2]
CLEAN = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "CAPILLARY_BASE_URL", "CAPILLARY_USERNAME",
         "CAPILLARY_PASSWORD", "CAPILLARY_OAUTH_KEY", "CAPILLARY_OAUTH_SECRET", "COMM_API_TOKEN", "ACCESS_POLICY",
         "ALERT_CHANNEL", "DATABASE_URL", "DB_AUTO_UPGRADE", "RETENTION_DAYS")


def environment(**values: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in CLEAN}
    return {**env, "PYTHONPATH": str(ROOT), **values}


async def commops(*args: str, cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    return process.returncode or 0, out.decode(), err.decode()


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, "CAPILLARY_BASE_URL is not set"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "ALERT_INTERVAL_SECONDS": "often"},
         "ALERT_INTERVAL_SECONDS is malformed"),
        ({"SLACK_BOT_TOKEN": "user-token"}, "SLACK_BOT_TOKEN is malformed: expected a bot token starting with xoxb-"),
    ],
)
async def test_a_missing_or_malformed_setting_is_one_line_and_exit_2(
    tmp_path: Path, values: dict[str, str], names: str
) -> None:
    code, out, err = await commops("run", "--mode", "http", cwd=tmp_path, env=environment(**values))
    assert code == 2
    assert err.strip().splitlines() == [f"commops: {err.strip().removeprefix('commops: ')}"]
    assert names in err
    assert "Traceback" not in out + err


async def test_check_reaches_the_sandbox_and_says_what_is_wrong(sandbox: Sandbox, tmp_path: Path) -> None:
    good = environment(CAPILLARY_BASE_URL=sandbox.url, CAPILLARY_USERNAME=DEMO.capillary_username,
                       CAPILLARY_PASSWORD=DEMO.capillary_password)
    code, out, _ = await commops("check", cwd=tmp_path, env=good)
    assert "✗  Database: sqlite: the database is empty (no tables yet): `commops db upgrade` creates them" in out
    assert not (tmp_path / "commops.db").exists()  # checking made nothing
    assert (await commops("db", "upgrade", cwd=tmp_path, env=good))[0] == 0
    code, out, _ = await commops("check", cwd=tmp_path, env=good)
    assert "✓  Database: sqlite reachable, schema at revision" in out
    assert "✓  Capillary" in out and "till demo.till" in out
    assert "✗  Slack: SLACK_BOT_TOKEN is not set" in out
    assert code == 1
    wrong = {**good, "CAPILLARY_PASSWORD": "not-the-password"}
    _, out, _ = await commops("check", cwd=tmp_path, env=wrong)
    assert "✗  Capillary: Capillary refused the bot's credentials (401)" in out
    assert "not-the-password" not in out


async def test_run_serves_http_and_stops_cleanly_on_sigterm(sandbox: Sandbox, tmp_path: Path) -> None:
    port = free_port()
    env = environment(SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="secret", CAPILLARY_BASE_URL=sandbox.url,
                      CAPILLARY_USERNAME=DEMO.capillary_username, CAPILLARY_PASSWORD=DEMO.capillary_password)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--mode", "http", "--host", "127.0.0.1", "--port", str(port),
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(200):
                try:
                    health = await http.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("the bot did not come up")
            assert health.status_code == 200 and health.json()["status"] == "ok"
            unsigned = await http.post(f"http://127.0.0.1:{port}/slack/events", content="command=/resend&text=1")
            assert unsigned.status_code == 401
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=15)
        assert process.returncode == 0
        assert b"Traceback" not in err
        # Pruning runs whether alerts are on or not.
        assert b"alerts are off" in err and b"retention: pruning every 3600 s, keeping 30 days" in err
    finally:
        if process.returncode is None:
            process.kill()


@pytest.mark.parametrize("command", ["shell", "sandbox"])
async def test_shell_and_sandbox_without_the_devtools_extra_say_what_to_install(command: str, tmp_path: Path) -> None:
    # As if installed without the extra: importing starlette or uvicorn fails.
    code = ("import sys; sys.modules['starlette'] = sys.modules['uvicorn'] = None; "
            f"from bot.cli import main; main([{command!r}])")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, cwd=tmp_path, env=environment(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert err.decode() == (f"commops: commops {command} needs the development tools, which are not installed: "
                            "pip install 'commops[devtools]'\n")
