"""``commops shell``: a request under the two-person rule waits; the shell user cannot approve their own, and
after ``/as U0LEAD0001`` approves it as the lead; ``/as`` alone is the local user again."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.devtools.shell.session import run_shell
from bot.settings import Settings

pytestmark = pytest.mark.usefixtures("root_logging")  # the shell sets up logging on the root logger

POLICY = """
[[grant]]
actions = ["resend"]
users = ["U0SHELL01"]

[[approval]]
actions = ["resend"]
approvers = ["U0LEAD0001"]
min_ids = 2
"""


async def test_the_shell_user_switches_identity_to_approve(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    lines = "/resend 1746061653596 174606165\n1\ny\n/as lead\n/as U0LEAD0001\n1\ny\n/as\n/comm audit\nquit\n"
    out = io.StringIO()
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/shell.db",  # type: ignore[call-arg]
                        access_policy=policy)
    await run_shell(settings, [], stdin=io.StringIO(lines), stdout=out)
    shown = out.getvalue()
    assert "APPROVAL NEEDED" in shown and "[1] Approve   [2] Reject" in shown
    assert "You asked for this, so someone else must approve it: @U0LEAD0001" in shown
    assert "'lead' is not a Slack user id" in shown
    assert "U0LEAD0001> " in shown and "APPROVED AND CARRIED OUT" in shown
    assert "approved by @U0LEAD0001" in shown and "resent as `1748743190124`" in shown
    assert "You act as yourself again (U0SHELL01)" in shown
    assert "`approval.request` ok" in shown  # the shell user's own audit rows


async def test_home_and_the_shortcut_are_those_of_whom_the_shell_acts_as(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    lines = ("/resend 1746061653596 174606165\n/as U0LEAD0001\nhome\n"
             "shortcut 1746061653596\n/as\nhome\nquit\n")
    out = io.StringIO()
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/shell.db",  # type: ignore[call-arg]
                        access_policy=policy)
    await run_shell(settings, [], stdin=io.StringIO(lines), stdout=out)
    shown = out.getvalue()
    lead, own = shown.split("You act as yourself again")
    assert "Hello @U0LEAD0001" in lead and "APPROVALS WAITING FOR YOU" in lead  # the lead's tab, not the shell's
    assert "You are not allowed to run `resend`" in lead  # the shortcut as the lead, who holds no grant for it
    assert "APPROVALS WAITING FOR YOU" not in own
