"""The access policy explained for one person: what they may do here and why."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from bot.access.explain import explain, how_to_get, why
from bot.access.policy import AccessControl, GroupCache, PolicySource

POLICY = """
[[grant]]
actions = ["resend", "campaign.*"]
users = ["U0ALICE01"]
channels = ["C0OPS0001"]

[[grant]]
actions = ["resend"]
usergroups = ["S0OPS0001"]

[[grant]]
actions = ["audit.read"]
users = ["U0AUDREY1"]
"""


class Groups:
    async def members(self, usergroup_id: str) -> Collection[str]:
        return ["U0GREG001"] if usergroup_id == "S0OPS0001" else []


def access(tmp_path: Path) -> AccessControl:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY)
    return AccessControl(PolicySource(path), groups=GroupCache(Groups()))


async def test_a_named_user_in_their_channel(tmp_path: Path) -> None:
    found = {s.action: s for s in await explain(access(tmp_path), "U0ALICE01", "C0OPS0001")}
    assert found["resend"].allowed and found["campaign.pause"].allowed
    assert why(found["resend"]) == "grant 1 of the access policy names you (only in C0OPS0001)"
    assert not found["audit.read"].allowed
    assert why(found["audit.read"]) == "no grant of the access policy covers you"
    assert why(found["campaign.list"]) == "read-only, open to every member"


async def test_the_same_user_elsewhere_is_told_where(tmp_path: Path) -> None:
    found = {s.action: s for s in await explain(access(tmp_path), "U0ALICE01", "C0OTHER01")}
    assert not found["resend"].allowed
    assert why(found["resend"]) == "grant 1 of the access policy names you, but only in C0OPS0001, not here"


async def test_a_group_member(tmp_path: Path) -> None:
    found = {s.action: s for s in await explain(access(tmp_path), "U0GREG001", None)}
    assert found["resend"].allowed and found["resend"].channels is None
    expected = "grant 2 of the access policy includes your user group @S0OPS0001"
    assert why(found["resend"], group=lambda g: f"@{g}") == expected
    assert not found["campaign.pause"].allowed


async def test_without_a_policy(tmp_path: Path) -> None:
    found = {s.action: s for s in await explain(AccessControl(None), "U0ALICE01", None)}
    assert not found["resend"].allowed and "no ACCESS_POLICY" in why(found["resend"])
    assert found["campaign.status"].allowed
    local = {s.action: s for s in await explain(AccessControl(None, local_user="U0ME"), "U0ME", None)}
    assert all(s.allowed for s in local.values())
    assert "local shell user" in why(local["resend"])
    assert "`resend`" in how_to_get("resend")
