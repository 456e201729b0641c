"""``commops shell``: the local user may do everything unless a policy is given, and the shell says which."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.devtools.shell.session import SHELL_USER, run_shell
from bot.settings import Settings

pytestmark = pytest.mark.usefixtures("root_logging")  # the shell sets up logging on the root logger


async def _shell(tmp_path: Path, lines: str, **settings: object) -> str:
    out = io.StringIO()
    values = {"database_url": f"sqlite+aiosqlite:///{tmp_path}/shell.db", **settings}
    await run_shell(Settings(_env_file=None, **values), [], stdin=io.StringIO(lines), stdout=out)  # type: ignore[call-arg]
    return out.getvalue()


async def test_without_a_policy_the_local_user_may_resend_and_is_told_so(tmp_path: Path) -> None:
    shown = await _shell(tmp_path, "/resend 1746061653596\nquit\n")
    assert "No ACCESS_POLICY: as the local user you may do everything" in shown
    assert "resent as" in shown


async def test_a_given_policy_applies_to_the_local_user(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[[grant]]\nactions = ["resend"]\nusers = ["U0SOMEONE"]\n')
    shown = await _shell(tmp_path, "/resend 1746061653596\n/comm audit\nquit\n", access_policy=policy)
    assert f"Access policy {policy} applies: you act as Slack user {SHELL_USER}" in shown
    assert "not allowed to run `resend`" in shown and "resent as" not in shown
    assert "`resend` denied" in shown  # /comm audit shows the shell user its own denial
