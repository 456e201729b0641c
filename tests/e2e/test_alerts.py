"""Undelivered-message alerts end to end: the job against the sandbox, digests in the Slack emulator, and the
digest's buttons clicked over signed HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.importer import import_file
from bot.alerts.job import AlertJob, AlertScheduler, CycleReport, build_alert_job
from bot.devtools.sandbox import SEED
from bot.devtools.sandbox.messages import SYNTHETIC_BASE_ID
from bot.services import build_services
from handlers.alerts.poster import SlackDigestPoster
from tests.e2e.alert_support import (
    ALERTS,
    MISSING,
    RESEND,
    RESEND_ALL,
    alert_job,
    digests,
    fast_client,
    fixed_clock,
    item_ids,
    replies,
    write_watchlist,
)
from tests.e2e.conftest import BOB, BOT_TOKEN, Bot

SYNTHETIC_10 = SYNTHETIC_BASE_ID + 4 * 10 + 1  # customer 10's recent NOT-DELIVERED sms
SYNTHETIC_15 = SYNTHETIC_BASE_ID + 4 * 15 + 1  # customer 15's recent FAILED sms
EXPECTED = {*SEED.recent_undelivered_message_ids, SYNTHETIC_10, SYNTHETIC_15}


def shown(message: dict[str, object]) -> str:
    return str(message.get("text", "")) + str(message.get("blocks", ""))


async def test_first_digest_lists_what_is_undelivered_and_the_missing_customer(bot: Bot, tmp_path: Path) -> None:
    report = await alert_job(bot, tmp_path).run_once()
    assert report.error is None and report.missing == 1 and report.failed == 0
    [digest] = digests(bot)
    assert set(item_ids(digest)) == EXPECTED
    text = shown(digest)
    assert f"{len(EXPECTED)} undelivered messages" in text and MISSING in text
    assert "<!date^" in text and "••••0010" in text and "919900000010" not in text  # receivers masked
    assert RESEND_ALL in text
    assert SEED.delivered_message_id not in item_ids(digest)


async def test_nothing_is_alerted_twice_and_only_new_messages_follow(bot: Bot, tmp_path: Path) -> None:
    job = alert_job(bot, tmp_path)
    await job.run_once()
    for _ in range(3):
        report = await job.run_once()
        assert report.posts == 0 and report.new == 0
    assert len(digests(bot)) == 1  # the missing customer is reported once too
    new_id = bot.sandbox.state.add_interaction("mobile", "919900000011", status="GTW_NOT_FOUND",
                                               sent_at=bot.sandbox.state.seeded_at)
    await job.run_once()
    latest = digests(bot)[-1]
    assert item_ids(latest) == [new_id] and MISSING not in shown(latest)


async def test_old_and_delivered_messages_are_not_alerted(bot: Bot, tmp_path: Path) -> None:
    later = fixed_clock(bot, minutes=60 * 48)  # two days on: everything seeded is out of the 24 h look-back
    report = await alert_job(bot, tmp_path, clock=later).run_once()
    assert report.new == 0
    assert all(not item_ids(message) for message in digests(bot))  # only the missing-customer notice


async def test_a_restart_with_the_same_database_neither_repeats_nor_loses(bot: Bot, tmp_path: Path) -> None:
    first = alert_job(bot, tmp_path)
    await first.poll(fixed_clock(bot)())  # it queues what it finds as it goes; then "crash" before posting
    assert digests(bot) == []
    restarted = alert_job(bot, tmp_path)  # a new job over the same store
    await restarted.run_once()
    assert set(item_ids(digests(bot)[0])) == EXPECTED
    await alert_job(bot, tmp_path).run_once()
    assert len(digests(bot)) == 1


async def test_a_slack_failure_while_posting_is_alerted_on_the_next_run(bot: Bot, tmp_path: Path) -> None:
    job = alert_job(bot, tmp_path)
    bot.slack.fail_next("chat.postMessage", "internal_error", status=500)
    report = await job.run_once()
    assert report.error == "Slack answered internal_error" and report.posted == 0 and digests(bot) == []
    report = await job.run_once()
    assert report.error is None and report.new == 0
    assert set(item_ids(digests(bot)[0])) == EXPECTED


async def test_the_rest_go_into_a_thread_and_a_failed_reply_is_posted_next_run(bot: Bot, tmp_path: Path) -> None:
    extra = tuple(f"mobile:9199{n:08d}" for n in range(100, 400, 5))  # 60 undelivered customers
    job = alert_job(bot, tmp_path, extra=extra)
    await job.run_once()
    [digest] = digests(bot)
    thread = replies(bot, digest)
    assert len(item_ids(digest)) == 20 and len(thread) == 1
    assert len(digest["blocks"]) <= 50 and len(thread[0]["blocks"]) <= 50
    total = len(EXPECTED) + 60
    assert f"{total} undelivered messages" in shown(digest)
    assert shown(thread[0]).count("` · ") == total - 20


async def test_import_with_bad_rows_keeps_the_good_ones(bot: Bot, tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text(
        "message_id,channel,receiver,status,sent_at\n"
        "9100000000001,SMS,919845000099,Not_delivered,2026-01-05T10:00:00+05:30\n"
        "not-a-number,SMS,919845000099,FAILED,2026-01-05 10:00:00\n"
        "9100000000002,EMAIL,someone@example.com,Failed,05-01-2026 10:00:00\n"
        "9100000000003,SMS,919845000099,DELIVERED,05-01-2026 10:00:00\n"
        "9100000000004,SMS,919845000099,FAILED,yesterday\n"
        "9100000000005,SMS,919845000099,SOFT_BOUNCED,1767600000\n"
    )
    job = alert_job(bot, tmp_path)
    report = await import_file(export, job.outbox, statuses=bot.services.settings.alert_statuses,
                               zone=bot.services.settings.tz, now=fixed_clock(bot)())
    assert report.added == 3 and [problem.line for problem in report.problems] == [3, 5, 6]
    again = await import_file(export, job.outbox, statuses=bot.services.settings.alert_statuses,
                              zone=bot.services.settings.tz, now=fixed_clock(bot)())
    assert again.added == 0 and again.known == 3
    await job.run_once()
    assert {9100000000001, 9100000000002, 9100000000005} <= set(item_ids(digests(bot)[0]))


async def test_resend_from_the_alert_updates_it_and_a_second_click_says_so(bot: Bot, tmp_path: Path) -> None:
    await alert_job(bot, tmp_path).run_once()
    [digest] = digests(bot)
    target = str(SEED.resend_message_id)
    await bot.click(digest, action_id=RESEND, value=target, channel=ALERTS)
    update = await bot.slack.wait_for("chat.update")
    assert "resent by <@U0ALICE01>" in shown(update.args)
    assert str(SEED.resend_first_result) in shown(update.args)
    updated = bot.slack.message(ALERTS, digest["ts"])
    assert updated is not None and target not in str(updated["blocks"][item_ids(updated).index(int(target)) + 1]
                                                      .get("accessory"))  # its button is gone
    await bot.click(digest, action_id=RESEND, value=target, channel=ALERTS, user=BOB)  # a stale copy
    reply = await bot.reply(lambda call: "already resent" in str(call.args.get("text")))
    assert "not resent again" in str(reply.args["text"])
    assert len(await bot.vendor_calls("/v2/communications/resend")) == 1
    audit = await bot.services.audit.query(actions=["alerts.resend"])
    assert [entry.outcome for entry in audit] == ["ok"]


async def test_resend_all_resends_each_once_and_updates_the_digest(bot: Bot, tmp_path: Path) -> None:
    await alert_job(bot, tmp_path).run_once()
    [digest] = digests(bot)
    await bot.click(digest, action_id=RESEND_ALL, channel=ALERTS)
    await bot.slack.wait_for("chat.update")
    resends = await bot.vendor_calls("/v2/communications/resend")
    assert len(resends) == len(EXPECTED)
    updated = bot.slack.message(ALERTS, digest["ts"])
    assert updated is not None and shown(updated).count("resent by <@U0ALICE01>") == len(EXPECTED)
    await bot.click(updated, action_id=RESEND_ALL, channel=ALERTS)
    await bot.reply(lambda call: "already resent" in str(call.args.get("text")))
    assert len(await bot.vendor_calls("/v2/communications/resend")) == len(EXPECTED)


async def test_resend_all_redraws_the_thread_reply_too(bot: Bot, tmp_path: Path) -> None:
    extra = tuple(f"mobile:9199{n:08d}" for n in range(100, 200, 5))  # 20 more: the rest go into a thread reply
    await alert_job(bot, tmp_path, extra=extra).run_once()
    [digest] = digests(bot)
    [reply] = replies(bot, digest)
    await bot.click(digest, action_id=RESEND_ALL, channel=ALERTS)
    await bot.slack.wait_for("chat.update", lambda call: call.args.get("ts") == reply["ts"], timeout=15)
    redrawn = bot.slack.message(ALERTS, reply["ts"])
    assert redrawn is not None and redrawn.get("thread_ts") == digest["ts"]
    assert shown(redrawn).count("resent by <@U0ALICE01>") == len(EXPECTED)  # all but the 20 the digest shows


async def test_a_429_storm_slows_the_job_without_losing_work(bot: Bot, tmp_path: Path) -> None:
    client = fast_client(bot, max_attempts=3)
    try:
        await bot.fault(path="/v2/customers/interaction", kind="rate_limit", times=12, retry_after=0.02)
        job = alert_job(bot, tmp_path, capillary=client, concurrency=4)
        first = await job.run_once()
        second = await job.run_once()  # any customer that still failed is polled again
        alerted = {message_id for message in digests(bot) for message_id in item_ids(message)}
        assert alerted == EXPECTED
        assert bot.sandbox.state.stats()["capillary"]["faulted"] == 12  # the storm did happen
        assert first.failed + second.failed < len(job.watchlist)
    finally:
        await client.aclose()


async def test_alerts_are_off_without_a_channel(bot: Bot, tmp_path: Path) -> None:
    assert bot.services.settings.alert_channel is None
    assert build_alert_job(bot.services.settings, capillary=bot.services.capillary, store=bot.services.store,
                           poster=SlackDigestPoster(AsyncWebClient())) is None


@asynccontextmanager
async def replica(bot: Bot, tmp_path: Path) -> AsyncIterator[AlertJob]:
    """The alert job of a second replica: its own services (store, Capillary client) on the bot's database."""
    services = await build_services(bot.services.settings)
    try:
        settings = services.settings.model_copy(update={"alert_channel": ALERTS,
                                                        "alert_watchlist": write_watchlist(tmp_path)})
        job = build_alert_job(settings, capillary=services.capillary, store=services.store,
                              poster=SlackDigestPoster(AsyncWebClient(token=BOT_TOKEN, base_url=bot.slack.api_url)),
                              clock=fixed_clock(bot), post_interval=0)
        assert job is not None
        yield job
    finally:
        await services.aclose()


def alerted(bot: Bot) -> list[int]:
    return [message_id for message in bot.slack.messages(ALERTS) for message_id in item_ids(message)]


async def test_two_replicas_running_at_once_post_one_digest_and_lose_nothing(bot: Bot, tmp_path: Path) -> None:
    async with replica(bot, tmp_path) as other:
        jobs = (alert_job(bot, tmp_path), other)
        assert jobs[0].lease.holder != jobs[1].lease.holder
        reports = await asyncio.gather(*(job.run_once() for job in jobs))
        assert sorted(report.skipped for report in reports) == [False, True]
        [digest] = digests(bot)
        assert set(item_ids(digest)) == EXPECTED and sorted(alerted(bot)) == sorted(EXPECTED)
        assert await jobs[0].outbox.pending() == ()
        new_id = bot.sandbox.state.add_interaction("mobile", "919900000011", status="FAILED",
                                                   sent_at=bot.sandbox.state.seeded_at)
        await asyncio.gather(*(job.run_once() for job in jobs))  # the lease was released: either may run now
        assert len(digests(bot)) == 2 and item_ids(digests(bot)[-1]) == [new_id]
        assert sorted(alerted(bot)) == sorted([*EXPECTED, new_id])


async def test_two_schedulers_on_one_database_post_one_digest(bot: Bot, tmp_path: Path) -> None:
    reports: list[CycleReport] = []

    def recording(job: AlertJob) -> AlertJob:
        run = job.run_once

        async def run_once(*, takeover: bool = False) -> CycleReport:
            reports.append(await run(takeover=takeover))
            return reports[-1]

        job.run_once = run_once  # type: ignore[method-assign]
        return job

    async with replica(bot, tmp_path) as other:
        schedulers = [AlertScheduler(recording(job), interval=3600) for job in (alert_job(bot, tmp_path), other)]
        for scheduler in schedulers:
            scheduler.start()  # each runs at once: both replicas' first runs start together
        try:
            for _ in range(500):  # ten seconds at most
                if len(reports) == 2:
                    break
                await asyncio.sleep(0.02)
        finally:
            for scheduler in schedulers:
                await scheduler.stop()
    assert len(reports) == 2 and all(report.error is None for report in reports)
    [digest] = digests(bot)
    assert sorted(alerted(bot)) == sorted(EXPECTED) and set(item_ids(digest)) == EXPECTED
