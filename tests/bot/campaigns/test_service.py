"""Pause and resume against the sandbox: GET, PUT the whole object, GET again, and say how far it got."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.actor import Actor
from bot.audit.log import AuditLog
from bot.campaigns.plan import Basis, Op
from bot.campaigns.service import CampaignService, ChangeStatus, NoSuchCampaign
from bot.devtools.sandbox import SEED
from bot.store.engine import Store
from bot.store.schema import upgrade
from bot.vendors.comm import CommClient
from bot.vendors.errors import AccessDenied, RateLimited, Timeout, Unavailable
from tests.bot.vendors.test_comm_client import comm_client
from tests.conftest import Sandbox

WINBACK = SEED.campaign_ids["Winback March"]
DIGEST = SEED.campaign_ids["Weekly Digest"]
ALICE = Actor("U0ALICE01", "alice", "T0001", "C0OPS0001")


class Harness:
    def __init__(self, sandbox: Sandbox, comm: CommClient, service: CampaignService, audit: AuditLog) -> None:
        self.sandbox, self.comm, self.service, self.audit = sandbox, comm, service, audit

    def calls(self, method: str, campaign_id: str) -> list[dict[str, Any]]:
        path = f"/api/v1/sms/campaigns/{campaign_id}"
        return [call for call in self.sandbox.state.recorded_calls(method=method) if call["path"] == path]

    def after_put(self, then: Callable[[], None]) -> None:
        """Run ``then`` right after the client's PUT returns or fails (before the verifying GET)."""
        put = self.comm.put_campaign

        async def wrapped(campaign_id: str, whole: dict[str, Any]) -> Any:
            try:
                return await put(campaign_id, whole)
            finally:
                then()

        self.comm.put_campaign = wrapped  # type: ignore[method-assign]


@pytest.fixture
async def harness(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Harness]:
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/commops.db")
    await upgrade(store)
    comm = comm_client(sandbox.comm_url, max_attempts=2)
    audit = AuditLog(store)
    yield Harness(sandbox, comm, CampaignService(comm, audit=audit), audit)
    await comm.aclose()
    await store.close()


def flag(sandbox: Sandbox, campaign_id: str, *path: str) -> Any:
    value: Any = sandbox.state.campaign(campaign_id)
    for key in path:
        value = value[key]
    return value


async def test_pause_puts_back_the_fetched_object_with_one_flag_changed(harness: Harness) -> None:
    fetched = copy.deepcopy(harness.sandbox.state.campaign(WINBACK))
    result = await harness.service.toggle(WINBACK, Op.PAUSE, ALICE, attempt_id="a1")
    assert result.outcome is ChangeStatus.CHANGED and not result.differences
    assert [(c.name, c.before, c.after) for c in result.changes] == [("meta.multistep_data.is_active", True, False)]
    fetched["meta"]["multistep_data"]["is_active"] = False
    assert harness.calls("PUT", WINBACK)[0]["json"] == fetched
    assert len(harness.calls("GET", WINBACK)) == 2  # read, then read back
    rows = await harness.audit.query()
    assert [(r.action, r.outcome, r.campaign_id, r.attempt_id) for r in rows] == [
        ("campaign.pause", "ok", WINBACK, "a1")]
    assert rows[0].arguments["result"] == "changed"


async def test_resume_after_pause_restores_the_object(harness: Harness) -> None:
    snapshot = copy.deepcopy(harness.sandbox.state.campaign(DIGEST))
    await harness.service.toggle(DIGEST, Op.PAUSE, ALICE)
    assert flag(harness.sandbox, DIGEST, "meta", "planner_data", "is_active") is False
    assert flag(harness.sandbox, DIGEST, "meta", "planner_data", "multistep_data", "is_active") is False
    result = await harness.service.toggle(DIGEST, Op.RESUME, ALICE)
    assert result.outcome is ChangeStatus.CHANGED
    assert harness.sandbox.state.campaign(DIGEST) == snapshot


async def test_already_paused_and_manual_send_nothing(harness: Harness) -> None:
    paused = SEED.campaign_ids["Cart Abandonment Nudge"]
    manual = SEED.campaign_ids["Black Friday Teaser"]
    assert (await harness.service.toggle(paused, Op.PAUSE, ALICE)).outcome is ChangeStatus.ALREADY
    assert (await harness.service.toggle(manual, Op.PAUSE, ALICE)).outcome is ChangeStatus.NOT_PAUSABLE
    assert harness.sandbox.state.recorded_calls(method="PUT") == []
    assert [r.outcome for r in await harness.audit.query()] == ["ok", "invalid"]


async def test_a_change_between_save_and_read_back_is_a_conflict(harness: Harness) -> None:
    def someone_else() -> None:
        harness.sandbox.state.patch_campaign(DIGEST, {"meta": {"planner_data": {"daily_sms_contact_limit": 4}}})

    harness.after_put(someone_else)
    result = await harness.service.toggle(DIGEST, Op.PAUSE, ALICE)
    assert result.outcome is ChangeStatus.CONFLICT
    assert [(d.name, d.sent, d.found) for d in result.differences] == [
        ("meta.planner_data.daily_sms_contact_limit", 1, 4)]


async def test_a_lost_answer_is_settled_by_reading_back(harness: Harness) -> None:
    harness.sandbox.state.add_fault("timeout", path=f"/api/v1/sms/campaigns/{WINBACK}", method="PUT")
    applied = await harness.service.toggle(WINBACK, Op.PAUSE, ALICE)
    assert applied.outcome is ChangeStatus.CHANGED and applied.answer_lost and isinstance(applied.error, Timeout)

    harness.sandbox.state.add_fault("status", status=500, path=f"/api/v1/sms/campaigns/{WINBACK}", method="PUT")
    refused = await harness.service.toggle(WINBACK, Op.RESUME, ALICE)
    assert refused.outcome is ChangeStatus.FAILED and refused.answer_lost and isinstance(refused.error, Unavailable)
    assert flag(harness.sandbox, WINBACK, "meta", "multistep_data", "is_active") is False
    assert len(harness.calls("PUT", WINBACK)) == 2  # one each: never repeated


async def test_unknown_when_the_save_and_the_read_back_both_fail(harness: Harness) -> None:
    path = f"/api/v1/sms/campaigns/{WINBACK}"
    harness.sandbox.state.add_fault("status", status=502, path=path, method="PUT")
    harness.after_put(lambda: harness.sandbox.state.add_fault("status", status=500, path=path, method="GET",
                                                                times=None))
    result = await harness.service.toggle(WINBACK, Op.PAUSE, ALICE)
    assert result.outcome is ChangeStatus.UNCERTAIN
    assert [r.outcome for r in await harness.audit.query()] == ["vendor_error"]


async def test_saved_but_not_read_back(harness: Harness) -> None:
    path = f"/api/v1/sms/campaigns/{WINBACK}"
    harness.after_put(lambda: harness.sandbox.state.add_fault("timeout", path=path, method="GET", times=None))
    result = await harness.service.toggle(WINBACK, Op.PAUSE, ALICE)
    assert result.outcome is ChangeStatus.UNVERIFIED and isinstance(result.error, Timeout)
    assert flag(harness.sandbox, WINBACK, "meta", "multistep_data", "is_active") is False


async def test_a_429_on_the_save_waits_and_starts_over(harness: Harness) -> None:
    told: list[str] = []

    async def notify(text: str) -> None:
        told.append(text)

    harness.sandbox.state.add_fault("rate_limit", path=f"/api/v1/sms/campaigns/{WINBACK}", method="PUT",
                                    retry_after=0.1)
    result = await harness.service.toggle(WINBACK, Op.PAUSE, ALICE, notify=notify)
    assert result.outcome is ChangeStatus.CHANGED
    assert told == ["Comm asked the bot to slow down (429); trying again in 0.1 s."]
    assert len(harness.calls("PUT", WINBACK)) == 2 and len(harness.calls("GET", WINBACK)) == 3


async def test_a_long_429_is_reported_without_waiting(harness: Harness) -> None:
    harness.sandbox.state.add_fault("rate_limit", path=f"/api/v1/sms/campaigns/{WINBACK}", method="PUT",
                                    retry_after=60)
    result = await asyncio.wait_for(harness.service.toggle(WINBACK, Op.PAUSE, ALICE), 5)
    assert result.outcome is ChangeStatus.FAILED and isinstance(result.error, RateLimited)
    assert "try again in 60 s" in result.error.sentence


async def test_a_double_click_changes_once(harness: Harness) -> None:
    first, second = await asyncio.gather(harness.service.toggle(WINBACK, Op.PAUSE, ALICE),
                                         harness.service.toggle(WINBACK, Op.PAUSE, ALICE))
    assert sorted([first.outcome, second.outcome]) == [ChangeStatus.ALREADY, ChangeStatus.CHANGED]
    assert len(harness.calls("PUT", WINBACK)) == 1


async def test_reads_and_stops_are_audited(harness: Harness) -> None:
    assert (await harness.service.status("weekly", ALICE)).id == DIGEST
    with pytest.raises(NoSuchCampaign):
        await harness.service.status("nothing like it", ALICE)
    listing = await harness.service.list_campaigns("paused", ALICE)
    assert [c.name for c in listing.campaigns] == ["Cart Abandonment Nudge", "Holiday Greetings 2024",
                                                   "Payday Reminder"]
    stopped = await harness.service.stop(DIGEST, SEED.send_ids["Weekly Digest"][1], ALICE)
    assert stopped.stopped and stopped.result is not None and stopped.result.status == "stopped"
    foreign = await harness.service.stop(SEED.campaign_ids["Partner Launch"], SEED.send_ids["Partner Launch"][0],
                                         ALICE)
    assert isinstance(foreign.error, AccessDenied)
    assert harness.sandbox.state.recorded_calls(method="POST", path="/api/v1/sms/campaigns/"
                                                + SEED.campaign_ids["Partner Launch"]) == []
    rows = [(r.action, r.outcome) for r in await harness.audit.query()]
    assert rows == [("campaign.status", "ok"), ("campaign.status", "invalid"), ("campaign.list", "ok"),
                    ("campaign.stop", "ok"), ("campaign.stop", "vendor_error")]


async def test_a_click_made_against_an_older_state_changes_nothing(harness: Harness) -> None:
    shown_at = datetime.now(UTC)
    result = await harness.service.toggle(WINBACK, Op.PAUSE, ALICE, attempt_id="a1", basis=Basis((False,), shown_at))
    assert result.outcome is ChangeStatus.STALE and result.last_change is None
    assert harness.calls("PUT", WINBACK) == []
    await harness.service.toggle(WINBACK, Op.PAUSE, ALICE, attempt_id="a2")  # paused now, through the bot
    await harness.service.toggle(WINBACK, Op.RESUME, ALICE, attempt_id="a3")  # and resumed: as the button showed
    again = await harness.service.toggle(WINBACK, Op.PAUSE, ALICE, attempt_id="a4", basis=Basis((True,), shown_at))
    assert again.outcome is ChangeStatus.STALE and again.last_change is not None
    assert (again.last_change.op, again.last_change.user_id) == (Op.RESUME, ALICE.user_id)
    assert len(harness.calls("PUT", WINBACK)) == 2
    fresh = Basis((True,), again.settled_at)  # what a button made from that outcome carries
    assert (await harness.service.toggle(WINBACK, Op.PAUSE, ALICE, basis=fresh)).outcome is ChangeStatus.CHANGED
    rows = [row for row in await harness.audit.query() if row.error_code == "stale"]
    assert [(row.outcome, row.attempt_id, row.arguments["result"]) for row in rows] == [
        ("invalid", "a1", "stale"), ("invalid", "a4", "stale")]
