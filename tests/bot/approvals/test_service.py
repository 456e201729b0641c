"""Approval requests without Slack: asked only under a rule, decided once (two approvers at once, two services on
one store), refused to the requester and to non-approvers, expired by the clock, re-checked and audited."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.access.policy import build_access
from bot.actor import Actor
from bot.approvals.service import ApprovalRequest, ApprovalService, Executed, State, Verdict
from bot.audit.log import AuditLog
from bot.store.engine import Store

ALICE = Actor("U0ALICE01", "alice", "T0001", "C0OPS0001")
LEAD = Actor("U0LEAD0001", "lead", "T0001", "C0OPS0001")
GREG = Actor("U0GREG0001", "greg", "T0001", "C0OPS0001")
BOB = Actor("U0BOB0001", "bob", "T0001", "C0OPS0001")
POLICY = """
[[grant]]
actions = ["*"]
users = ["U0ALICE01"]

[[approval]]
actions = ["campaign.stop"]
approvers = ["U0LEAD0001"]
approver_groups = ["S0LEADS01"]
expires_minutes = 30

[[approval]]
actions = ["resend"]
approvers = ["U0LEAD0001"]
min_ids = 10
"""


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Leads:
    async def members(self, usergroup_id: str) -> list[str]:
        return [GREG.user_id] if usergroup_id == "S0LEADS01" else []


def service(store: Store, tmp_path: Path, clock: Clock, ran: list[str]) -> tuple[ApprovalService, AuditLog]:
    path = tmp_path / "policy.toml"
    if not path.exists():
        path.write_text(POLICY)
    access = build_access(path)
    access.use_directory(Leads())
    audit = AuditLog(store, clock=clock)
    approvals = ApprovalService(store, access, audit, clock=clock)

    async def stop(request: ApprovalRequest) -> Executed:
        await asyncio.sleep(0.01)  # long enough for a second decision to arrive meanwhile
        ran.append(request.id)
        return Executed(True, "stopped")

    approvals.register("campaign.stop", stop)
    return approvals, audit


async def ask_stop(approvals: ApprovalService) -> ApprovalRequest:
    request = await approvals.ask("campaign.stop", {"campaign_id": "c1", "send_id": "s1"}, ["Stop send s1"], ALICE,
                                  attempt_id="a" * 32)
    assert request is not None
    return request


async def test_only_actions_under_a_rule_wait(store: Store, tmp_path: Path) -> None:
    approvals, _ = service(store, tmp_path, Clock(), [])
    assert await approvals.ask("campaign.pause", {}, [], ALICE, attempt_id="a" * 32) is None
    assert await approvals.ask("resend", {"ids": [1]}, [], ALICE, attempt_id="a" * 32, count=9) is None
    assert await approvals.ask("resend", {"ids": [1]}, [], ALICE, attempt_id="a" * 32, count=10) is not None


async def test_approve_runs_it_once_with_three_linked_audit_rows(store: Store, tmp_path: Path) -> None:
    ran: list[str] = []
    approvals, audit = service(store, tmp_path, Clock(), ran)
    request = await ask_stop(approvals)
    first, second = await asyncio.gather(approvals.decide(request.id, LEAD, approve=True),
                                         approvals.decide(request.id, GREG, approve=True))
    assert sorted([first.verdict, second.verdict]) == [Verdict.APPROVED, Verdict.DECIDED]
    assert ran == [request.id]
    stored = await approvals.requests.get(request.id)
    assert stored is not None and stored.state is State.EXECUTED and stored.outcome == "stopped"
    rows = [row for row in await audit.query() if row.attempt_id == request.attempt_id]
    assert [row.action for row in rows if row.outcome == "ok"] == ["approval.request", "approval.approve",
                                                                    "approval.executed"]
    [late] = [row for row in rows if row.outcome != "ok"]  # the click that found it decided, and why
    assert (late.action, late.outcome, late.error_code) == ("approval.decide", "denied", "decided")
    [executed] = [row for row in rows if row.action == "approval.executed"]
    assert executed.arguments["requested_by"] == ALICE.user_id and executed.arguments["approved_by"] in (
        LEAD.user_id, GREG.user_id)


async def test_two_services_on_one_store_run_it_once(store: Store, tmp_path: Path) -> None:
    ran: list[str] = []
    clock = Clock()
    one, _ = service(store, tmp_path, clock, ran)
    two, _ = service(store, tmp_path, clock, ran)
    request = await ask_stop(one)
    verdicts = await asyncio.gather(one.decide(request.id, LEAD, approve=True),
                                    two.decide(request.id, GREG, approve=True))
    assert sorted(decided.verdict for decided in verdicts) == [Verdict.APPROVED, Verdict.DECIDED]
    assert ran == [request.id]


async def test_the_requester_and_outsiders_are_refused_and_audited(store: Store, tmp_path: Path) -> None:
    ran: list[str] = []
    approvals, audit = service(store, tmp_path, Clock(), ran)
    request = await ask_stop(approvals)
    assert (await approvals.decide(request.id, ALICE, approve=True)).verdict is Verdict.REQUESTER
    assert (await approvals.decide(request.id, BOB, approve=True)).verdict is Verdict.NOT_APPROVER
    assert (await approvals.decide("0" * 32, LEAD, approve=True)).verdict is Verdict.UNKNOWN
    assert ran == []
    denials = [(row.user_id, row.error_code) for row in await audit.query() if row.outcome == "denied"]
    assert denials == [(ALICE.user_id, "requester"), (BOB.user_id, "not_approver"), (LEAD.user_id, "unknown_request")]
    still = await approvals.requests.get(request.id)
    assert still is not None and still.state is State.PENDING


async def test_reject_does_nothing_and_a_late_approve_is_too_late(store: Store, tmp_path: Path) -> None:
    ran: list[str] = []
    clock = Clock()
    approvals, _ = service(store, tmp_path, clock, ran)
    rejected = await ask_stop(approvals)
    assert (await approvals.decide(rejected.id, LEAD, approve=False)).verdict is Verdict.REJECTED
    assert (await approvals.decide(rejected.id, GREG, approve=True)).verdict is Verdict.DECIDED
    expiring = await ask_stop(approvals)
    clock.now += timedelta(minutes=30)
    decided = await approvals.decide(expiring.id, LEAD, approve=True)
    assert decided.verdict is Verdict.EXPIRED and decided.request is not None
    assert decided.request.state is State.EXPIRED
    assert ran == []


async def test_a_requester_who_lost_the_grant_is_not_carried_out(store: Store, tmp_path: Path) -> None:
    ran: list[str] = []
    approvals, _ = service(store, tmp_path, Clock(), ran)
    request = await ask_stop(approvals)
    path = tmp_path / "policy.toml"
    path.write_text(POLICY.replace('users = ["U0ALICE01"]', 'users = ["U0BOB0001"]') + "\n")
    assert approvals._access.source is not None
    approvals._access.source._recheck = 0
    decided = await approvals.decide(request.id, LEAD, approve=True)
    assert decided.verdict is Verdict.APPROVED and decided.executed is not None
    assert not decided.executed.ok and "may no longer do campaign.stop" in decided.executed.summary
    assert ran == []


async def test_pending_for_lists_what_an_approver_may_decide(store: Store, tmp_path: Path) -> None:
    clock = Clock()
    approvals, _ = service(store, tmp_path, clock, [])
    request = await ask_stop(approvals)
    assert [item.id for item in await approvals.pending_for(LEAD.user_id)] == [request.id]
    assert [item.id for item in await approvals.pending_for(GREG.user_id, ["S0LEADS01"])] == [request.id]
    assert await approvals.pending_for(GREG.user_id) == []
    assert await approvals.pending_for(ALICE.user_id) == []
    clock.now += timedelta(hours=1)
    assert await approvals.pending_for(LEAD.user_id) == []
