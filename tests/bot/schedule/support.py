"""A schedule service and runner against the sandbox's Comm, on a store of its own, with a clock the test moves."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.access.policy import AccessControl, PolicySource
from bot.actor import Actor
from bot.audit.log import AuditLog
from bot.campaigns.plan import Basis, Op, flag_state
from bot.campaigns.service import CampaignService
from bot.devtools.sandbox import SEED
from bot.schedule.actions import Origin, ScheduledActions
from bot.schedule.report import RunReport
from bot.schedule.runner import ScheduleRunner
from bot.schedule.service import ScheduleOutcome, ScheduleRequest, ScheduleService
from bot.store.engine import Store
from bot.vendors.comm import CommClient
from tests.bot.vendors.test_comm_client import comm_client
from tests.conftest import Sandbox

ALICE = Actor("U0ALICE01", "alice", "T0001", "C0OPS0001")
BOB = Actor("U0BOB0001", "bob", "T0001", "C0OPS0001")
IDS = SEED.campaign_ids
EVERYTHING = f"""
[[grant]]
actions = ["campaign.*"]
users = ["{ALICE.user_id}", "{BOB.user_id}"]
"""


@dataclass
class Clock:
    moment: datetime = field(default_factory=lambda: datetime(2026, 11, 27, 19, 40, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


class FakeReporter:
    """What the channel was told; ``refuse`` makes the next posts fail as Slack's refusal would."""

    def __init__(self) -> None:
        self.reports: list[RunReport] = []
        self.refuse = 0

    async def report(self, report: RunReport) -> None:
        if self.refuse:
            self.refuse -= 1
            raise RuntimeError("channel_not_found")
        self.reports.append(report)


@dataclass
class Replica:
    store: Store
    comm: CommClient
    audit: AuditLog
    campaigns: CampaignService
    service: ScheduleService
    runner: ScheduleRunner
    reporter: FakeReporter
    clock: Clock

    async def basis(self, name: str) -> Basis:
        campaign = await self.campaigns.find(IDS[name])
        return Basis(flag_state(campaign), self.clock())

    async def schedule(self, name: str, op: Op, origin: Origin, *, minutes: float = 60, actor: Actor = ALICE,
                       basis: Basis | None = None, key: str | None = None) -> ScheduleOutcome:
        request = ScheduleRequest(IDS[name], op, origin, self.clock() + timedelta(minutes=minutes),
                                  basis or await self.basis(name), "Europe/London", key or f"{name}/{op}/{minutes}")
        return await self.service.schedule(request, actor, attempt_id="a" * 32)


def write_policy(path: Path, text: str = EVERYTHING) -> Path:
    path.write_text(text)
    return path


@contextlib.asynccontextmanager
async def replica(database_url: str, sandbox: Sandbox, clock: Clock, policy: Path, holder: str, **runner: Any
                  ) -> AsyncIterator[Replica]:
    """One bot's worth of the schedule on ``database_url`` (already migrated)."""
    store = Store(database_url)
    comm = comm_client(sandbox.comm_url, max_attempts=2)
    audit = AuditLog(store, clock=clock)
    campaigns = CampaignService(comm, audit=audit, clock=clock)
    access = AccessControl(PolicySource(policy, recheck_seconds=0))
    service = ScheduleService(ScheduledActions(store), campaigns, access, audit, clock=clock)
    reporter = FakeReporter()
    try:
        yield Replica(store, comm, audit, campaigns, service,
                      ScheduleRunner(service, reporter, holder=holder, **runner), reporter, clock)
    finally:
        await comm.aclose()
        await store.close()


def flags_of(sandbox: Sandbox, name: str) -> dict[str, Any]:
    meta = sandbox.state.campaign(IDS[name])["meta"]
    return {"multistep": (meta.get("multistep_data") or {}).get("is_active"),
            "planner": (meta.get("planner_data") or {}).get("is_active")}


def puts(sandbox: Sandbox, name: str) -> list[dict[str, Any]]:
    return [call["json"] for call in sandbox.state.recorded_calls(method="PUT")
            if call["path"] == f"/api/v1/sms/campaigns/{IDS[name]}"]
