"""The two-person rule on the alert digest's buttons: Resend all of a large digest waits for an approver, a single
Resend under the rule's min_ids is carried out at once, as before."""

from __future__ import annotations

from pathlib import Path

from bot.devtools.sandbox import SEED
from tests.conftest import Sandbox
from tests.e2e.alert_support import ALERTS, RESEND, RESEND_ALL, alert_job, digests, item_ids
from tests.e2e.conftest import ALICE, BOB, running_bot

LEAD = ("U0LEAD0001", "lead")
POLICY = f"""
[[grant]]
actions = ["*"]
users = ["{ALICE[0]}", "{BOB[0]}"]

[[approval]]
actions = ["alerts.resend"]
approvers = ["{LEAD[0]}"]
min_ids = 2
"""
RESENDS = "/v2/communications/resend"


def policy_file(tmp_path: Path) -> Path:
    policy = tmp_path / "alerts-policy.toml"
    policy.write_text(POLICY)
    return policy


async def test_resend_all_of_a_digest_waits_for_approval(sandbox: Sandbox, tmp_path: Path) -> None:
    async with running_bot(sandbox, tmp_path, access_policy=policy_file(tmp_path)) as bot:
        await alert_job(bot, tmp_path).run_once()
        [digest] = digests(bot)
        ids = item_ids(digest)
        assert len(ids) >= 2
        await bot.click(digest, action_id=RESEND_ALL, channel=ALERTS)
        await bot.settle()
        assert await bot.vendor_calls(RESENDS) == []
        [request] = [message for message in bot.slack.messages(ALERTS)
                     if any(block.get("block_id") == "approval-head" for block in message.get("blocks") or [])]
        assert all(f"`{message_id}`" in str(request["blocks"]) for message_id in ids)
        notes = " ".join(str(message["text"]) for message in bot.slack.ephemeral_messages(user=ALICE[0]))
        assert "needs a second person's approval" in notes

        await bot.click(request, action_id="approval.approve", user=LEAD, channel=ALERTS)
        await bot.settle()
        assert len(await bot.vendor_calls(RESENDS)) == len(ids)
        decided = bot.slack.message(ALERTS, request["ts"])
        assert decided is not None and "Approved and carried out" in str(decided["blocks"])
        assert f"{len(ids)} of {len(ids)} alerted messages resent" in str(decided["blocks"])


async def test_a_single_resend_under_min_ids_is_carried_out_at_once(sandbox: Sandbox, tmp_path: Path) -> None:
    async with running_bot(sandbox, tmp_path, access_policy=policy_file(tmp_path)) as bot:
        await alert_job(bot, tmp_path).run_once()
        [digest] = digests(bot)
        target = str(SEED.resend_message_id)
        await bot.click(digest, action_id=RESEND, value=target, channel=ALERTS)
        await bot.slack.wait_for("chat.update")
        assert len(await bot.vendor_calls(RESENDS)) == 1
        assert await bot.services.audit.query(actions=["approval.*"]) == []
