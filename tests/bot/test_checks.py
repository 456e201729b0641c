"""``commops check`` reaches Slack, and Comm when COMM_API_TOKEN is set; it says exactly what is wrong if not."""

from __future__ import annotations

from pathlib import Path

from bot.app import check_slack
from bot.checks import run_checks
from bot.devtools.sandbox import DEMO
from bot.devtools.slack_emulator import BOT_NAME, SlackEmulator
from bot.devtools.slack_payloads import TEAM_DOMAIN
from bot.settings import Settings
from tests.conftest import Sandbox


async def comm_line(tmp_path: Path, **values: object) -> str:
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/check.db",  # type: ignore[call-arg]
                        capillary_base_url=None, **values)
    lines: list[str] = []
    await run_checks(settings, lines.append, slack=check_slack)
    return next(line for line in lines if "Comm:" in line)


async def test_check_reaches_comm(sandbox: Sandbox, tmp_path: Path) -> None:
    line = await comm_line(tmp_path, comm_api_url=sandbox.comm_url, comm_api_token=DEMO.comm_token)
    assert line == f"✓  Comm: {sandbox.comm_url} answered; the token's team has 14 SMS campaigns"


async def test_check_names_a_refused_token(sandbox: Sandbox, tmp_path: Path) -> None:
    line = await comm_line(tmp_path, comm_api_url=sandbox.comm_url, comm_api_token="wrong-token")
    assert line.startswith("✗  Comm: Comm refused the bot's token (401)") and "COMM_API_TOKEN" in line
    assert "wrong-token" not in line


async def test_check_says_comm_is_off_without_a_token(tmp_path: Path) -> None:
    assert await comm_line(tmp_path, comm_api_token=None) == (
        "-  Comm: off (COMM_API_TOKEN is not set): /campaign says so when used")


async def slack_line(tmp_path: Path, slack: SlackEmulator, **values: object) -> str:
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/check.db",  # type: ignore[call-arg]
                        capillary_base_url=None, slack_api_url=slack.api_url, **values)
    lines: list[str] = []
    await run_checks(settings, lines.append, slack=check_slack)
    return next(line for line in lines if "Slack:" in line)


async def test_check_reaches_slack_and_names_a_refused_token(tmp_path: Path) -> None:
    slack = SlackEmulator(tokens=["xoxb-good"])
    async with slack.serve():
        assert await slack_line(tmp_path, slack, slack_bot_token="xoxb-good", slack_signing_secret="s") == (
            f"✓  Slack: bot {BOT_NAME} in team {TEAM_DOMAIN}, HTTP mode")
        assert await slack_line(tmp_path, slack, slack_bot_token="xoxb-wrong", slack_app_token="xapp-1") == (
            "✗  Slack: Slack refused SLACK_BOT_TOKEN (invalid_auth)")
        assert await slack_line(tmp_path, slack, slack_bot_token="xoxb-good") == (
            "✗  Slack: neither SLACK_APP_TOKEN (Socket Mode) nor SLACK_SIGNING_SECRET (HTTP mode) is set")
