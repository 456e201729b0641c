"""The access tests' policy and people (tests/e2e/test_access.py, test_help.py): a grant limited to one channel, one
through a user group, an auditor, and someone in no grant. The ``guarded`` fixture (tests/e2e/conftest.py) runs a
bot under it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from bot.access.policy import PolicySource
from tests.conftest import Sandbox
from tests.e2e.conftest import ALICE, CHANNEL, Bot, running_bot

CAROL = ("U0CAROL01", "carol")  # in no grant
GREG = ("U0GREG001", "greg")  # in the ops user group
AUDREY = ("U0AUDREY1", "audrey")  # the auditor
OPS_GROUP = "S0OPS0001"
ELSEWHERE = "C0RANDOM1"
POLICY = f"""
[[grant]]
actions = ["resend", "campaign.*"]
users = ["{ALICE[0]}"]
channels = ["{CHANNEL}"]

[[grant]]
actions = ["resend"]
usergroups = ["{OPS_GROUP}"]

[[grant]]
actions = ["audit.read"]
users = ["{AUDREY[0]}"]
"""


@contextlib.asynccontextmanager
async def guarded_bot(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Bot]:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    async with running_bot(sandbox, tmp_path, access_policy=policy) as bot:
        bot.slack.add_usergroup(OPS_GROUP, [GREG[0]])
        # Look at the file on every request (production: at most once a second), so reload tests need no sleep.
        bot.services.access.source = PolicySource(policy, recheck_seconds=0)
        yield bot
