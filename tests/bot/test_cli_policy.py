"""A bad ACCESS_POLICY stops every command that serves, before anything starts: one line, exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main

# run and shell set up logging on the root logger, into the runner's soon-closed stderr: undo it after each test.
pytestmark = pytest.mark.usefixtures("root_logging")


@pytest.fixture
def bad_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name, value in {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "secret",
                        "CAPILLARY_BASE_URL": "http://127.0.0.1:9", "CAPILLARY_USERNAME": "till",
                        "CAPILLARY_PASSWORD": "pw", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/c.db"}.items():
        monkeypatch.setenv(name, value)
    policy = tmp_path / "policy.toml"
    policy.write_text('[[grant]]\nactions = ["resend"]\nusers = ["alice"]\n')
    monkeypatch.setenv("ACCESS_POLICY", str(policy))
    return policy


@pytest.mark.parametrize("command", [["run", "--mode", "http", "--port", "1"], ["shell"]])
def test_a_bad_policy_stops_the_start_with_one_line(bad_policy: Path, command: list[str]) -> None:
    result = CliRunner().invoke(main, command, input="")
    assert result.exit_code == 2
    assert result.output == (f"commops: ACCESS_POLICY {bad_policy}: grant 1, field users: 'alice' is not a Slack "
                             "user id (U… or W…, e.g. U012ABCDEF)\n")


def test_a_policy_others_could_change_stops_the_start_with_one_line(bad_policy: Path) -> None:
    bad_policy.write_text('[[grant]]\nactions = ["resend"]\nusers = ["U012ABCDEF"]\n')
    bad_policy.chmod(0o666)
    result = CliRunner().invoke(main, ["run", "--mode", "http", "--port", "1"], input="")
    assert result.exit_code == 2
    assert result.output == (f"commops: ACCESS_POLICY {bad_policy}: writable by group or others (mode 666), so "
                             f"anyone could grant themselves anything; run chmod go-w {bad_policy}\n")
