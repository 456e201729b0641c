"""The access policy: parsing and validation, decisions for every action, user groups, reloading."""

from __future__ import annotations

import logging
import os
from collections.abc import Collection
from pathlib import Path

import pytest

from bot.access.policy import (
    ACTIONS,
    CHANGES_DATA,
    MAX_POLICY_BYTES,
    OPEN_READS,
    AccessControl,
    GroupCache,
    PolicyError,
    PolicySource,
    build_access,
    load_policy,
    parse_policy,
)
from bot.settings import SettingsError

OPS, ELSEWHERE = "C0OPS0001", "C0RANDOM1"
ALICE, GREG, MALLORY = "U0ALICE01", "U0GREG001", "U0MALLORY"
OPS_GROUP = "S0OPS0001"
RESTRICTED = sorted(CHANGES_DATA | {"audit.read"})

POLICY = f"""
[[grant]]
actions = ["*"]
users = ["{ALICE}"]
channels = ["{OPS}"]

[[grant]]
actions = ["*"]
usergroups = ["{OPS_GROUP}"]
"""


class Directory:
    """A GroupDirectory that counts lookups and can be told to fail."""

    def __init__(self, groups: dict[str, list[str]]) -> None:
        self.groups = groups
        self.lookups = 0
        self.failing = False

    async def members(self, usergroup_id: str) -> Collection[str]:
        self.lookups += 1
        if self.failing:
            raise ConnectionError("slack is down")
        return self.groups.get(usergroup_id, [])


def control(tmp_path: Path, text: str = POLICY, groups: dict[str, list[str]] | None = None) -> AccessControl:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    access = build_access(path)
    access.use_directory(Directory(groups if groups is not None else {OPS_GROUP: [GREG]}))
    return access


def test_the_actions_are_the_contracts() -> None:
    assert set(ACTIONS) == {"resend", "campaign.pause", "campaign.resume", "campaign.stop", "campaign.status",
                            "campaign.list", "comm.upsert", "alerts.resend", "audit.read"}
    assert {"campaign.status", "campaign.list"} == OPEN_READS
    assert "audit.read" not in CHANGES_DATA | OPEN_READS  # its own grant: neither a change nor open


@pytest.mark.parametrize("action", ACTIONS)
async def test_a_granted_user_may_do_every_action_in_the_granted_channel(tmp_path: Path, action: str) -> None:
    decision = await control(tmp_path).decide(action, ALICE, OPS)
    assert decision.allowed
    assert decision.reason == ("granted" if action in RESTRICTED else "open")


@pytest.mark.parametrize("action", ACTIONS)
async def test_a_member_of_a_granted_user_group_may_do_every_action_anywhere(tmp_path: Path, action: str) -> None:
    decision = await control(tmp_path).decide(action, GREG, ELSEWHERE)
    assert decision.allowed
    if action in RESTRICTED:
        assert decision.grant == 2


@pytest.mark.parametrize("action", RESTRICTED)
async def test_outside_the_grants_channels_the_user_is_told_where(tmp_path: Path, action: str) -> None:
    decision = await control(tmp_path).decide(action, ALICE, ELSEWHERE)
    assert not decision.allowed
    assert decision.reason == "wrong_channel" and decision.channels == {OPS}
    assert not (await control(tmp_path).decide(action, ALICE, None)).allowed  # a modal without a channel


@pytest.mark.parametrize("action", ACTIONS)
async def test_a_user_in_no_grant_may_only_read(tmp_path: Path, action: str) -> None:
    decision = await control(tmp_path).decide(action, MALLORY, OPS)
    assert decision.allowed is (action in OPEN_READS)
    assert decision.reason == ("open" if action in OPEN_READS else "not_granted")


@pytest.mark.parametrize("action", ACTIONS)
async def test_without_a_policy_only_open_reads_are_allowed(action: str) -> None:
    decision = await build_access(None).decide(action, ALICE, OPS)
    assert decision.allowed is (action in OPEN_READS)
    if not decision.allowed:
        assert decision.reason == "no_policy"
        assert "no ACCESS_POLICY" in decision.detail


@pytest.mark.parametrize("action", ACTIONS)
async def test_without_a_policy_the_shell_user_may_do_everything_and_nobody_else(action: str) -> None:
    access = build_access(None, local_user="U0SHELL01")
    assert (await access.decide(action, "U0SHELL01", None)).reason == "local"
    assert (await access.decide(action, ALICE, OPS)).allowed is (action in OPEN_READS)


async def test_a_given_policy_applies_to_the_shell_user_too(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY)
    access = build_access(path, local_user="U0SHELL01")
    assert not (await access.decide("resend", "U0SHELL01", OPS)).allowed


async def test_naming_an_open_read_restricts_it_but_a_pattern_does_not(tmp_path: Path) -> None:
    patterned = control(tmp_path, f'[[grant]]\nactions = ["campaign.*"]\nusers = ["{ALICE}"]\n')
    assert (await patterned.decide("campaign.status", MALLORY, OPS)).allowed
    assert not (await patterned.decide("campaign.pause", MALLORY, OPS)).allowed
    named = control(tmp_path, f'[[grant]]\nactions = ["campaign.status"]\nusers = ["{ALICE}"]\n')
    assert not (await named.decide("campaign.status", MALLORY, OPS)).allowed
    assert (await named.decide("campaign.status", ALICE, OPS)).allowed
    assert (await named.decide("campaign.list", MALLORY, OPS)).allowed  # not named: still open


async def test_a_family_pattern_grants_only_its_family(tmp_path: Path) -> None:
    access = control(tmp_path, f'[[grant]]\nactions = ["campaign.*", "resend"]\nusers = ["{ALICE}"]\n')
    assert [a for a in ACTIONS if (await access.decide(a, ALICE, OPS)).reason == "granted"] == [
        "resend", "campaign.pause", "campaign.resume", "campaign.stop"]
    assert not (await access.decide("comm.upsert", ALICE, OPS)).allowed
    assert not (await access.decide("audit.read", ALICE, OPS)).allowed


async def test_an_unknown_action_is_denied_even_to_a_star_grant(tmp_path: Path) -> None:
    decision = await control(tmp_path).decide("campaign.delete", ALICE, OPS)
    assert not decision.allowed and decision.reason == "unknown"


# --- validation ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[[grant]]\nactions = ["campaign.restart"]\nusers = ["U012ABCDEF"]', "grant 1, field actions: unknown "
                                                                               "action 'campaign.restart'"),
        ('[[grant]]\nactions = ["camp*"]\nusers = ["U012ABCDEF"]', "unknown action 'camp*'"),
        ('[[grant]]\nactions = ["resend"]\nusers = ["alice"]', "field users: 'alice' is not a Slack user id"),
        ('[[grant]]\nactions = ["resend"]\nusergroups = ["U012ABCDEF"]', "field usergroups: 'U012ABCDEF' is not"),
        ('[[grant]]\nactions = ["resend"]\nusers = ["U012ABCDEF"]\nchannels = ["#ops"]', "field channels: '#ops'"),
        ('[[grant]]\nactions = ["resend"]\nusers = ["U012ABCDEF"]\nuser = ["U1"]', "unknown field 'user'"),
        ('[[grant]]\nusers = ["U012ABCDEF"]', "field actions is missing"),
        ('[[grant]]\nactions = []\nusers = ["U012ABCDEF"]', "field actions: expected a non-empty list"),
        ('[[grant]]\nactions = "resend"\nusers = ["U012ABCDEF"]', "field actions: expected a non-empty list"),
        ('[[grant]]\nactions = ["resend"]\nchannels = ["C0OPS0001"]', "grants to nobody"),
        ('[[grants]]\nactions = ["resend"]\nusers = ["U012ABCDEF"]', "unknown key 'grants'"),
        ('[grant]\nactions = ["resend"]\nusers = ["U012ABCDEF"]', "must be written as [[grant]] tables"),
        ('[[grant]]\nactions = ["resend"\nusers = ["U012ABCDEF"]', "not valid TOML"),
    ],
)
def test_a_bad_policy_is_one_line_naming_file_grant_and_field(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as caught:
        build_access(path)
    message = str(caught.value)
    assert message.startswith(f"ACCESS_POLICY {path}: ")
    assert says in message
    assert "\n" not in message
    assert isinstance(caught.value, SettingsError)  # the CLI's exit status 2


def test_the_second_grant_is_named_when_it_is_the_bad_one() -> None:
    text = '[[grant]]\nactions = ["resend"]\nusers = ["U012ABCDEF"]\n[[grant]]\nactions = ["x"]\nusers = ["U1X"]'
    with pytest.raises(PolicyError, match="grant 2, field actions"):
        parse_policy(text, "p.toml")


def test_an_unreadable_policy_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"policy.toml: cannot read the file \(No such file or directory\)"):
        load_policy(tmp_path / "policy.toml")
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(PolicyError, match="cannot read the file"):
        load_policy(tmp_path / "binary.toml")


def test_a_policy_that_others_could_change_or_that_is_no_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(f'[[grant]]\nactions = ["resend"]\nusers = ["{ALICE}"]\n')
    for mode in (0o664, 0o646, 0o666):
        path.chmod(mode)
        with pytest.raises(PolicyError, match=rf"writable by group or others \(mode {mode:o}\).*chmod go-w"):
            load_policy(path)
    path.chmod(0o644)
    assert load_policy(path).grants
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)  # reading it would block the bot for as long as nobody writes to it
    with pytest.raises(PolicyError, match="not a regular file"):
        load_policy(fifo)
    with pytest.raises(PolicyError, match="not a regular file"):
        load_policy(tmp_path)
    huge = tmp_path / "huge.toml"
    huge.write_bytes(b"#" * (MAX_POLICY_BYTES + 1))
    with pytest.raises(PolicyError, match="more than a policy can be"):
        load_policy(huge)


async def test_a_new_version_that_others_could_change_is_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(f'[[grant]]\nactions = ["resend"]\nusers = ["{ALICE}"]\n')
    access = AccessControl(PolicySource(path, recheck_seconds=0))
    _rewrite(path, f'[[grant]]\nactions = ["resend"]\nusers = ["{ALICE}", "{MALLORY}"]\n')
    path.chmod(0o666)
    assert not (await access.decide("resend", MALLORY, OPS)).allowed
    path.chmod(0o644)
    _rewrite(path, f'[[grant]]\nactions = ["resend"]\nusers = ["{ALICE}", "{MALLORY}"]\n')
    assert (await access.decide("resend", MALLORY, OPS)).allowed


def test_an_empty_policy_is_valid_and_grants_nothing() -> None:
    assert parse_policy("", "empty.toml").grants == ()


# --- reloading ----------------------------------------------------------------------------------------------------


def _rewrite(path: Path, text: str) -> None:
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a later mtime even on coarse clocks


async def test_a_changed_policy_file_is_used_on_the_next_request(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(f'[[grant]]\nactions = ["resend"]\nusers = ["{ALICE}"]\n')
    access = AccessControl(PolicySource(path, recheck_seconds=0))
    assert not (await access.decide("resend", MALLORY, OPS)).allowed
    _rewrite(path, f'[[grant]]\nactions = ["resend"]\nusers = ["{ALICE}", "{MALLORY}"]\n')
    assert (await access.decide("resend", MALLORY, OPS)).allowed


async def test_a_bad_new_version_keeps_the_last_good_policy_and_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(f'[[grant]]\nactions = ["resend"]\nusers = ["{ALICE}"]\n')
    access = AccessControl(PolicySource(path, recheck_seconds=0))
    _rewrite(path, f'[[grant]]\nactions = ["resend", "campaign.restart"]\nusers = ["{ALICE}"]\n')
    with caplog.at_level(logging.ERROR, logger="commops.access"):
        for _ in range(3):
            assert (await access.decide("resend", ALICE, OPS)).allowed
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "campaign.restart" in errors[0].getMessage() and "keeping the access policy" in errors[0].getMessage()
    path.unlink()  # a vanished file is a bad version too
    assert (await access.decide("resend", ALICE, OPS)).allowed
    _rewrite(path, f'[[grant]]\nactions = ["resend"]\nusers = ["{MALLORY}"]\n')
    assert not (await access.decide("resend", ALICE, OPS)).allowed  # fixed: the new version applies


async def test_the_file_is_looked_at_no_more_than_every_recheck_interval(tmp_path: Path) -> None:
    now = [0.0]
    path = tmp_path / "policy.toml"
    path.write_text(f'[[grant]]\nactions = ["resend"]\nusers = ["{ALICE}"]\n')
    access = AccessControl(PolicySource(path, recheck_seconds=1.0, clock=lambda: now[0]))
    _rewrite(path, f'[[grant]]\nactions = ["resend"]\nusers = ["{MALLORY}"]\n')
    assert (await access.decide("resend", ALICE, OPS)).allowed
    now[0] = 1.5
    assert not (await access.decide("resend", ALICE, OPS)).allowed


# --- user groups --------------------------------------------------------------------------------------------------


async def test_group_members_are_cached_for_the_ttl() -> None:
    now = [0.0]
    directory = Directory({OPS_GROUP: [GREG]})
    cache = GroupCache(directory, ttl=60, clock=lambda: now[0])
    assert await cache.is_member(GREG, [OPS_GROUP])
    directory.groups[OPS_GROUP] = []
    assert await cache.is_member(GREG, [OPS_GROUP]) and directory.lookups == 1
    now[0] = 61
    assert not await cache.is_member(GREG, [OPS_GROUP]) and directory.lookups == 2


async def test_a_failed_group_lookup_denies_and_is_retried_next_time(caplog: pytest.LogCaptureFixture) -> None:
    directory = Directory({OPS_GROUP: [GREG]})
    directory.failing = True
    cache = GroupCache(directory)
    assert not await cache.is_member(GREG, [OPS_GROUP])
    assert "could not read the members of user group S0OPS0001 (ConnectionError)" in caplog.text
    directory.failing = False
    assert await cache.is_member(GREG, [OPS_GROUP])


async def test_user_grants_are_checked_without_asking_for_groups(tmp_path: Path) -> None:
    directory = Directory({OPS_GROUP: [GREG]})
    path = tmp_path / "policy.toml"
    path.write_text(f'[[grant]]\nactions = ["resend"]\nusers = ["{ALICE}"]\n'
                    f'[[grant]]\nactions = ["resend"]\nusergroups = ["{OPS_GROUP}"]\n')
    access = build_access(path)
    access.use_directory(directory)
    assert (await access.decide("resend", ALICE, OPS)).allowed and directory.lookups == 0
    assert (await access.decide("resend", GREG, OPS)).allowed and directory.lookups == 1


async def test_group_grants_without_a_directory_do_not_match(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(f'[[grant]]\nactions = ["resend"]\nusergroups = ["{OPS_GROUP}"]\n')
    assert not (await build_access(path).decide("resend", GREG, OPS)).allowed
