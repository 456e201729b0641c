"""Scheduled pauses and resumes against the sandbox, with a clock the tests move (nothing here sleeps until a due
time): due while running, due while down, changed meanwhile, deleted, grant revoked, cancelled, two replicas on one
database, a runner that went away mid-run, and a channel that could not be told at first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.campaigns.plan import Basis, Op
from bot.campaigns.service import ChangeStatus
from bot.schedule.actions import STALE_AFTER, Origin, State
from bot.schedule.report import RunResult
from bot.schedule.service import Cancelled, Scheduled
from bot.store.engine import Store
from bot.store.schema import upgrade
from tests.bot.schedule.support import (
    ALICE,
    BOB,
    IDS,
    Clock,
    Replica,
    flags_of,
    puts,
    replica,
    write_policy,
)
from tests.conftest import Sandbox

WINBACK, DIGEST = "Winback March", "Weekly Digest"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    return write_policy(tmp_path / "policy.toml")


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path}/schedule.db"
    await upgrade(url)
    return url


@pytest.fixture
async def one(sqlite_url: str, sandbox: Sandbox, clock: Clock, policy: Path) -> AsyncIterator[Replica]:
    async with replica(sqlite_url, sandbox, clock, policy, "replica-a") as running:
        yield running


async def test_pause_for_pauses_now_and_resumes_by_itself_once_when_due(one: Replica, sandbox: Sandbox) -> None:
    scheduled = await one.schedule(WINBACK, Op.RESUME, Origin.AFTER_PAUSE, minutes=120)
    assert scheduled.status is Scheduled.SCHEDULED and scheduled.action is not None
    assert scheduled.toggle is not None and scheduled.toggle.outcome is ChangeStatus.CHANGED
    assert flags_of(sandbox, WINBACK)["multistep"] is False
    action = scheduled.action
    assert action.basis.state == (False,) and action.op is Op.RESUME and action.origin is Origin.AFTER_PAUSE

    one.clock.advance(minutes=119)
    assert await one.runner.poll() == [] and len(puts(sandbox, WINBACK)) == 1  # not yet due
    one.clock.advance(minutes=1)
    [report] = await one.runner.poll()
    assert report.result is RunResult.CHANGED and not report.late
    assert report.changes == [("meta.multistep_data.is_active", False, True)]
    assert (report.scheduler_id, report.channel_id, report.campaign_name) == (ALICE.user_id, ALICE.channel_id, WINBACK)
    assert flags_of(sandbox, WINBACK)["multistep"] is True and len(puts(sandbox, WINBACK)) == 2
    assert await one.runner.poll() == [] and len(puts(sandbox, WINBACK)) == 2  # once, and only once
    assert one.reporter.reports == [report]
    done = await one.service.actions.get(action.id)
    assert done is not None and done.state is State.DONE and done.result == "changed"

    rows = await one.audit.query(actions=["campaign.*"])
    assert [(row.action, row.outcome, row.arguments.get("schedule")) for row in rows] == [
        ("campaign.pause", "ok", None), ("campaign.resume", "ok", "create"), ("campaign.resume", "ok", "run")]
    assert rows[-1].attempt_id == action.id and rows[-1].user_id == ALICE.user_id


async def test_a_hand_resume_in_between_means_the_scheduled_one_does_nothing(one: Replica, sandbox: Sandbox) -> None:
    scheduled = await one.schedule(WINBACK, Op.RESUME, Origin.AFTER_PAUSE, minutes=30)
    assert scheduled.action is not None
    one.clock.advance(minutes=10)
    assert (await one.campaigns.toggle(IDS[WINBACK], Op.RESUME, BOB)).outcome is ChangeStatus.CHANGED
    one.clock.advance(minutes=20)
    [report] = await one.runner.poll()
    assert report.result is RunResult.STALE and report.now == "active"
    assert report.last_change is not None and report.last_change["user_id"] == BOB.user_id
    assert len(puts(sandbox, WINBACK)) == 2  # the pause and bob's resume: nothing from the schedule


async def test_a_campaign_deleted_meanwhile_is_reported_and_nothing_done(one: Replica, sandbox: Sandbox) -> None:
    assert (await one.schedule(WINBACK, Op.RESUME, Origin.AFTER_PAUSE, minutes=5)).action is not None
    del sandbox.state.campaigns.campaigns[IDS[WINBACK]]
    one.clock.advance(minutes=5)
    [report] = await one.runner.poll()
    assert report.result is RunResult.FAILED and report.not_found and "found no campaign" in str(report.reason)


async def test_due_while_down_runs_at_the_next_start_and_says_how_late(
        sqlite_url: str, sandbox: Sandbox, clock: Clock, policy: Path) -> None:
    async with replica(sqlite_url, sandbox, clock, policy, "before") as first:
        scheduled = await first.schedule(DIGEST, Op.PAUSE, Origin.AT, minutes=60)
        assert scheduled.status is Scheduled.SCHEDULED and puts(sandbox, DIGEST) == []
    clock.advance(hours=3)  # the bot was down through the due time
    async with replica(sqlite_url, sandbox, clock, policy, "after") as restarted:
        [report] = await restarted.runner.poll()
    assert report.result is RunResult.CHANGED and report.late and report.late_by.total_seconds() == 2 * 3600
    assert flags_of(sandbox, DIGEST)["planner"] is False


async def test_a_revoked_grant_is_checked_at_run_time(one: Replica, sandbox: Sandbox, policy: Path) -> None:
    assert (await one.schedule(WINBACK, Op.RESUME, Origin.AFTER_PAUSE, minutes=5)).action is not None
    write_policy(policy, f'[[grant]]\nactions = ["campaign.pause"]\nusers = ["{ALICE.user_id}"]\n')
    one.clock.advance(minutes=5)
    [report] = await one.runner.poll()
    assert report.result is RunResult.DENIED and "no grant covers this user" in str(report.reason)
    assert len(puts(sandbox, WINBACK)) == 1 and flags_of(sandbox, WINBACK)["multistep"] is False
    [denied] = [row for row in await one.audit.query() if row.outcome == "denied"]
    assert (denied.action, denied.user_id, denied.arguments["schedule"]) == ("campaign.resume", ALICE.user_id, "run")


async def test_a_pause_that_resumes_by_itself_needs_the_resume_grant_first(one: Replica, sandbox: Sandbox,
                                                                           policy: Path) -> None:
    write_policy(policy, f'[[grant]]\nactions = ["campaign.pause"]\nusers = ["{ALICE.user_id}"]\n')
    refused = await one.schedule(WINBACK, Op.RESUME, Origin.AFTER_PAUSE, minutes=5)
    assert refused.status is Scheduled.REFUSED and "you may not resume" in str(refused.reason)
    assert puts(sandbox, WINBACK) == [] and await one.service.pending() == []


async def test_cancelled_before_it_is_due_it_never_runs(one: Replica, sandbox: Sandbox) -> None:
    scheduled = await one.schedule(DIGEST, Op.PAUSE, Origin.AT, minutes=10)
    assert scheduled.action is not None
    action_id = scheduled.action.id
    assert (await one.service.cancel(action_id, Op.RESUME, BOB)).status is Cancelled.UNKNOWN  # wrong kind of button
    cancelled = await one.service.cancel(action_id, Op.PAUSE, BOB)
    assert cancelled.status is Cancelled.CANCELLED and cancelled.action is not None
    assert cancelled.action.cancelled_by == BOB.user_id
    assert (await one.service.cancel(action_id, Op.PAUSE, ALICE)).status is Cancelled.GONE
    one.clock.advance(minutes=10)
    assert await one.runner.poll() == [] and puts(sandbox, DIGEST) == []
    assert await one.service.pending() == []


async def test_pause_at_checks_the_preview_and_each_click_schedules_once(one: Replica, sandbox: Sandbox) -> None:
    stale = await one.schedule(DIGEST, Op.PAUSE, Origin.AT, basis=Basis((False, False), one.clock()))
    assert stale.status is Scheduled.STALE and await one.service.pending() == []
    first = await one.schedule(DIGEST, Op.PAUSE, Origin.AT, key="same-button")
    again = await one.schedule(DIGEST, Op.PAUSE, Origin.AT, key="same-button")
    assert first.status is Scheduled.SCHEDULED and again.status is Scheduled.SAME_CLICK
    assert first.action is not None and again.action is not None and again.action.id == first.action.id
    assert [action.id for action in await one.service.pending(IDS[DIGEST])] == [first.action.id]
    nothing = await one.schedule(DIGEST, Op.RESUME, Origin.AT, key="resume")
    assert nothing.status is Scheduled.REFUSED and "already resumed" in str(nothing.reason)
    manual = await one.schedule("Black Friday Teaser", Op.PAUSE, Origin.AT)
    assert manual.status is Scheduled.REFUSED and "no flag" in str(manual.reason)
    assert puts(sandbox, DIGEST) == []


async def test_a_channel_that_could_not_be_told_is_told_at_a_later_poll(one: Replica) -> None:
    assert (await one.schedule(DIGEST, Op.PAUSE, Origin.AT, minutes=1)).action is not None
    one.reporter.refuse = 1
    one.clock.advance(minutes=1)
    [report] = await one.runner.poll()
    assert one.reporter.reports == []
    assert await one.runner.poll() == []  # nothing runs again; the report is posted now
    assert one.reporter.reports == [report]
    await one.runner.poll()
    assert one.reporter.reports == [report]


async def test_two_replicas_on_one_database_run_it_once(database_url: str, store: Store, sandbox: Sandbox,
                                                        clock: Clock, policy: Path) -> None:
    async with replica(database_url, sandbox, clock, policy, "replica-a") as a, \
            replica(database_url, sandbox, clock, policy, "replica-b") as b:
        assert (await a.schedule(WINBACK, Op.RESUME, Origin.AFTER_PAUSE, minutes=5)).action is not None
        assert (await b.schedule(DIGEST, Op.PAUSE, Origin.AT, minutes=5)).action is not None
        clock.advance(minutes=5)
        runs = await asyncio.gather(*(runner.poll() for runner in (a.runner, b.runner, a.runner, b.runner)))
        ran = sorted(report.campaign_name for reports in runs for report in reports)
        assert ran == [DIGEST, WINBACK]
        assert len(puts(sandbox, WINBACK)) == 2 and len(puts(sandbox, DIGEST)) == 1
        told = sorted(report.campaign_name for reporter in (a.reporter, b.reporter) for report in reporter.reports)
        assert told == [DIGEST, WINBACK]


async def test_a_run_whose_runner_went_away_is_taken_over_once(database_url: str, store: Store, sandbox: Sandbox,
                                                               clock: Clock, policy: Path) -> None:
    async with replica(database_url, sandbox, clock, policy, "crashed") as a, \
            replica(database_url, sandbox, clock, policy, "survivor") as b:
        scheduled = await a.schedule(DIGEST, Op.PAUSE, Origin.AT, minutes=5)
        assert scheduled.action is not None
        clock.advance(minutes=5)
        assert await a.service.actions.claim(scheduled.action.id, a.runner.holder, clock()) is not None  # then dies
        assert await b.runner.poll() == []  # running, as far as anyone knows
        clock.advance(seconds=STALE_AFTER.total_seconds() + 1)
        [report] = await b.runner.poll()
        assert report.took_over and report.result is RunResult.CHANGED and len(puts(sandbox, DIGEST)) == 1
        assert await a.runner.poll() == [] and await b.runner.poll() == []
        assert len(b.reporter.reports) == 1 and a.reporter.reports == []


async def test_a_pause_whose_resume_cannot_be_stored_says_so_at_once(one: Replica, sandbox: Sandbox) -> None:
    async def refuse(*_args: object) -> None:
        raise OSError("disk full")

    one.service.actions.add = refuse  # type: ignore[method-assign,assignment]
    outcome = await one.schedule(WINBACK, Op.RESUME, Origin.AFTER_PAUSE, minutes=5)
    assert outcome.status is Scheduled.FAILED and outcome.toggle is not None
    assert "paused, but its resume could not be scheduled" in str(outcome.reason)
    assert flags_of(sandbox, WINBACK)["multistep"] is False
