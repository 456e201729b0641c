"""The approval request message stays within Slack's 50 blocks however long what it describes is, and keeps its
Approve and Reject buttons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.actor import Actor
from bot.approvals.service import ApprovalRequest, State
from handlers.ui.approval import APPROVE, REJECT, decided_message, request_message

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def a_request(lines: int) -> ApprovalRequest:
    ids = [1746061650000 + n for n in range(lines)]
    return ApprovalRequest(
        id="ab" * 16, action="alerts.resend", params={"ids": ids},
        description=tuple(f"• resend alerted message `{message_id}`" for message_id in ids),
        approvers=frozenset({"U0LEAD0001"}), approver_groups=frozenset(), requester=Actor("U0ALICE01", "alice", "T1",
                                                                                          "C0OPS0001"),
        state=State.PENDING, created_at=NOW, expires_at=NOW + timedelta(hours=1), attempt_id="attempt")


def test_a_request_of_thousands_of_ids_keeps_its_buttons_and_says_how_many_more() -> None:
    message = request_message(a_request(5000))
    blocks = message["blocks"]
    assert len(blocks) <= 50
    assert [element["action_id"] for element in blocks[-1]["elements"]] == [APPROVE, REJECT]
    shown = str(blocks)
    assert "`1746061650000`" in shown and "more" in shown and "`1746061654999`" not in shown
    decided = decided_message(a_request(5000), None, NOW)
    assert len(decided["blocks"]) <= 50 and "Requested by" in str(decided["blocks"])


def test_a_short_request_is_shown_whole() -> None:
    blocks = request_message(a_request(12))["blocks"]
    assert all(f"`{1746061650000 + n}`" in str(blocks) for n in range(12)) and "more" not in str(blocks)
