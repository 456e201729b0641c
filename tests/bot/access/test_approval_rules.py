"""The two-person rule's ``[[approval]]`` tables: read, validated at start like grants, reloaded like them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.access.policy import DEFAULT_EXPIRES_MINUTES, PolicyError, build_access, parse_policy
from bot.settings import SettingsError

GRANT = '[[grant]]\nactions = ["*"]\nusers = ["U0ALICE01"]\n'


def test_rules_are_read_with_their_defaults() -> None:
    policy = parse_policy(GRANT + '[[approval]]\nactions = ["campaign.stop"]\napprovers = ["U0LEAD0001"]\n'
                          '[[approval]]\nactions = ["resend"]\napprover_groups = ["S0LEADS01"]\nmin_ids = 10\n'
                          'expires_minutes = 5\n', "p.toml")
    first, second = policy.approvals
    assert first.approvers == {"U0LEAD0001"} and first.expires_minutes == DEFAULT_EXPIRES_MINUTES
    assert second.approver_groups == {"S0LEADS01"} and second.min_ids == 10 and second.expires_minutes == 5
    assert policy.approval_rules("campaign.stop") == (first,)
    assert policy.approval_rules("campaign.pause") == ()
    assert policy.approval_rules("resend", 9) == ()  # under the threshold: carried out as before
    assert policy.approval_rules("resend", 10) == (second,)
    assert policy.approval_rules("alerts.resend", 50) == ()


def test_a_family_pattern_covers_only_what_can_be_approved() -> None:
    policy = parse_policy('[[approval]]\nactions = ["campaign.*"]\napprovers = ["U0LEAD0001"]\n', "p.toml")
    assert [bool(policy.approval_rules(action)) for action in
            ("campaign.pause", "campaign.resume", "campaign.stop", "campaign.status", "campaign.list")] == [
        True, True, True, False, False]


def test_a_policy_without_rules_has_none() -> None:
    assert parse_policy(GRANT, "p.toml").approvals == ()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('actions = ["campaign.restart"]\napprovers = ["U0LEAD0001"]', "approval 1, field actions: unknown action "
                                                                        "'campaign.restart'"),
        ('actions = ["campaign.status"]\napprovers = ["U0LEAD0001"]', "approval 1, field actions: 'campaign.status' "
                                                                       "cannot require approval"),
        ('actions = ["resend"]\napprovers = ["lead"]', "approval 1, field approvers: 'lead' is not a Slack user id"),
        ('actions = ["resend"]\napprover_groups = ["U0LEAD0001"]', "field approver_groups: 'U0LEAD0001' is not"),
        ('actions = ["resend"]', "approval 1: nobody may approve"),
        ('approvers = ["U0LEAD0001"]', "approval 1: field actions is missing"),
        ('actions = ["resend"]\napprovers = ["U0LEAD0001"]\nmin_ids = 0', "field min_ids: expected a whole number"),
        ('actions = ["resend"]\napprovers = ["U0LEAD0001"]\nmin_ids = "10"', "field min_ids: expected a whole number"),
        ('actions = ["campaign.stop", "resend"]\napprovers = ["U0LEAD0001"]\nmin_ids = 10',
         "field min_ids: only for alerts.resend and resend"),
        ('actions = ["resend"]\napprovers = ["U0LEAD0001"]\nexpires_minutes = 0', "field expires_minutes"),
        ('actions = ["resend"]\napprovers = ["U0LEAD0001"]\nexpires = 5', "approval 1: unknown field 'expires'"),
    ],
)
def test_a_bad_rule_is_one_line_naming_file_table_and_field(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(GRANT + "[[approval]]\n" + text + "\n")
    with pytest.raises(PolicyError) as caught:
        build_access(path)
    message = str(caught.value)
    assert message.startswith(f"ACCESS_POLICY {path}: ") and says in message and "\n" not in message
    assert isinstance(caught.value, SettingsError)  # the CLI's exit status 2


def test_approval_written_as_a_single_table_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"must be written as \[\[approval\]\] tables"):
        parse_policy('[approval]\nactions = ["resend"]\napprovers = ["U0LEAD0001"]\n', "p.toml")


async def test_rules_are_reloaded_with_the_policy(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(GRANT)
    access = build_access(path)
    assert access.source is not None
    access.source._recheck = 0  # look at the file on every use
    assert await access.approval_rules("campaign.stop") == ()
    path.write_text(GRANT + '[[approval]]\nactions = ["campaign.stop"]\napprovers = ["U0LEAD0001"]\n\n')
    (rule,) = await access.approval_rules("campaign.stop")
    assert rule.approvers == {"U0LEAD0001"}
