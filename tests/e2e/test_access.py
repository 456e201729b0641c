"""Access control and the audit log over signed HTTP, against the sandbox: what Slack users would see."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from bot.audit.log import AuditEntry
from tests.conftest import Sandbox
from tests.e2e.access_support import AUDREY, CAROL, ELSEWHERE, GREG, POLICY
from tests.e2e.conftest import CHANNEL, Bot, running_bot

SEED, SEED_RESENT = 1746061653596, 1748743190124
RESEND = "/v2/communications/resend"


async def rows(bot: Bot, count: int) -> list[AuditEntry]:
    await bot.settle()  # denials are audited just after their ack
    found = await bot.services.audit.query()
    assert len(found) >= count, f"expected {count} audit rows, got {found}"
    return found


def text_of(args: dict[str, object]) -> str:
    return str(args.get("text", "")) + str(args.get("blocks", ""))


async def test_a_user_without_a_grant_is_told_how_to_get_one_and_nothing_is_sent(guarded: Bot) -> None:
    response = await guarded.command("/resend", str(SEED), user=CAROL)
    body = response.json()
    assert body["response_type"] == "ephemeral"
    assert "not allowed to run `resend`" in body["text"] and "access policy" in body["text"]
    (row,) = await rows(guarded, 1)
    assert (row.user_id, row.action, row.outcome, row.error_code) == (CAROL[0], "resend", "denied", "not_granted")
    assert await guarded.vendor_calls(RESEND) == []
    assert guarded.slack.calls("response_url") == []


async def test_a_member_of_a_granted_user_group_may_resend(guarded: Bot) -> None:
    await guarded.command("/resend", str(SEED), user=GREG, channel=ELSEWHERE)
    assert str(SEED_RESENT) in text_of((await guarded.reply()).args)
    assert len(guarded.slack.calls("usergroups.users.list")) == 1


async def test_a_grant_with_channels_does_not_follow_the_user_elsewhere(guarded: Bot) -> None:
    body = (await guarded.command("/resend", str(SEED), channel=ELSEWHERE)).json()
    assert f"only in <#{CHANNEL}>" in body["text"]
    assert (await rows(guarded, 1))[0].error_code == "wrong_channel"
    assert await guarded.vendor_calls(RESEND) == []


async def test_a_resend_anyway_button_clicked_by_someone_without_the_grant_does_nothing(guarded: Bot) -> None:
    await guarded.command("/resend", str(SEED))
    await guarded.reply()
    await guarded.command("/resend", str(SEED))  # resent a moment ago: the reply offers Resend anyway
    await guarded.reply(lambda call: "Not resent again" in text_of(call.args))
    message = guarded.slack.messages(CHANNEL)[-1]
    guarded.slack.clear()
    await guarded.click(message, action_id="resend.anyway", value=f"{SEED}@1", user=CAROL)
    notice = await guarded.reply()
    assert notice.args["response_type"] == "ephemeral" and notice.args["replace_original"] is False
    assert "not allowed to run `resend`" in notice.args["text"]
    assert guarded.slack.messages(CHANNEL)[-1] == message  # not replaced
    assert len(await guarded.vendor_calls(RESEND)) == 1
    await guarded.click(message, action_id="resend.anyway", value=f"{SEED}@1")  # alice may
    assert "resend anyway by <@U0ALICE01>" in text_of((await guarded.reply(
        lambda call: call.args.get("replace_original") is True)).args)
    assert len(await guarded.vendor_calls(RESEND)) == 2


async def test_without_a_policy_nothing_that_changes_data_is_allowed(sandbox: Sandbox, tmp_path: Path) -> None:
    async with running_bot(sandbox, tmp_path, access_policy=None) as bot:
        body = (await bot.command("/resend", str(SEED))).json()
        assert "no ACCESS_POLICY is configured" in body["text"] and "`resend`" in body["text"]
        assert (await rows(bot, 1))[0].error_code == "no_policy"
        assert await bot.vendor_calls(RESEND) == []


async def test_an_edited_policy_applies_at_once_and_a_broken_edit_is_ignored(
    guarded: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    policy = guarded.services.access.source.path  # type: ignore[union-attr]
    assert "not allowed" in (await guarded.command("/resend", str(SEED), user=CAROL)).json()["text"]
    _rewrite(policy, POLICY + f'\n[[grant]]\nactions = ["resend"]\nusers = ["{CAROL[0]}"]\n')
    assert "Resending" in (await guarded.command("/resend", str(SEED), user=CAROL)).text
    await guarded.reply()
    _rewrite(policy, POLICY + '\n[[grant]]\nactions = ["resend"]\nusers = ["carol"]\n')
    with caplog.at_level(logging.ERROR, logger="commops.access"):
        for _ in range(2):
            assert "Resending" in (await guarded.command("/resend", "9000000000001", user=CAROL)).text
    (error,) = [r.getMessage() for r in caplog.records if "keeping the access policy" in r.getMessage()]
    assert "grant 4, field users: 'carol' is not a Slack user id" in error


def _rewrite(path: Path, text: str) -> None:
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


# --- the audit log --------------------------------------------------------------------------------------------------


async def test_every_outcome_of_resend_is_in_the_audit_log(guarded: Bot) -> None:
    await guarded.command("/resend", str(SEED))  # ok
    await guarded.reply()
    await guarded.fault(path=RESEND, kind="status", status=500)
    await guarded.command("/resend", "9000000000001")  # vendor error
    await guarded.reply(lambda call: "9000000000001" in text_of(call.args))
    await guarded.command("/resend", str(SEED))  # duplicate
    await guarded.reply(lambda call: "Not resent again" in text_of(call.args))
    await guarded.command("/resend", "abc")  # invalid
    await guarded.command("/resend", str(SEED), user=CAROL)  # denied
    found = {(entry.communication_id, entry.outcome): entry for entry in await rows(guarded, 5)}
    ok = found[str(SEED), "ok"]
    assert (ok.resent_id, ok.org_id, ok.user_name, ok.team_id, ok.channel_id) == (
        str(SEED_RESENT), 100737, "alice", "T0001", CHANNEL)
    assert ok.request_id and ok.latency_ms is not None and ok.attempt_id
    assert found["9000000000001", "vendor_error"].error_code == "unavailable:500"
    assert found[str(SEED), "duplicate"].resent_id == str(SEED_RESENT)
    assert found[None, "invalid"].arguments == {"text": "abc"}
    assert found[None, "denied"].user_id == CAROL[0]


async def test_a_multi_id_resend_is_one_row_per_id_sharing_an_attempt(guarded: Bot) -> None:
    await guarded.command("/resend", f"{SEED} 174606165")
    await guarded.reply()
    entries = await rows(guarded, 2)
    assert {entry.communication_id: entry.outcome for entry in entries} == {str(SEED): "ok",
                                                                             "174606165": "vendor_error"}
    assert len({entry.attempt_id for entry in entries}) == 1


async def test_comm_audit_shows_your_own_actions_and_everyones_to_an_auditor(guarded: Bot) -> None:
    await guarded.command("/resend", str(SEED))
    await guarded.reply()
    await guarded.command("/resend", str(SEED), user=CAROL)
    await rows(guarded, 2)
    guarded.slack.clear()
    await guarded.command("/comm", "audit", user=CAROL)
    mine = await guarded.reply()
    assert mine.args["response_type"] == "ephemeral"
    shown = text_of(mine.args)
    assert "of yours" in shown and "`resend` denied" in shown and "`resend` ok" not in shown
    guarded.slack.clear()
    await guarded.command("/comm", "audit 5", user=AUDREY)
    everyone = text_of((await guarded.reply()).args)
    assert "by everyone (you hold `audit.read`)" in everyone
    assert "<@U0ALICE01>" in everyone and "<@U0CAROL01>" in everyone and f"`{SEED_RESENT}`" in everyone
    assert (await rows(guarded, 3))[-1].action == "audit.read"


async def test_comm_answers_help_and_unknown_sub_commands_with_usage(guarded: Bot) -> None:
    for text in ("", "help", "frobnicate"):
        body = (await guarded.command("/comm", text, user=CAROL)).text
        assert "/comm audit [n]" in body
    assert "`frobnicate` is not a /comm sub-command" in (await guarded.command("/comm", "frobnicate")).text
    assert "is not a number of rows" in (await guarded.command("/comm", "audit lots")).text
