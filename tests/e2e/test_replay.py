"""A signed request received before is refused, over real HTTP, on one bot and across replicas sharing a store."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from bot.devtools import slack_payloads as payloads
from bot.devtools.slack_emulator import SlackEmulator
from tests.conftest import Sandbox
from tests.e2e.campaign_support import IDS, campaign_bot, last_ephemeral, puts
from tests.e2e.conftest import ALICE, CHANNEL, SIGNING_SECRET, Bot, running_bot
from tests.e2e.test_comm_upsert import UPSERT, open_form

WINBACK = IDS["Winback March"]
ONE_LINE = 'upsert 2750 2996 type=START channel=SMS sender=CAPLOY offset=1 active=true message="Hi there"'


def signed_command(bot: Bot, command: str, text: str) -> tuple[str, dict[str, str]]:
    body = payloads.slash_command(
        command, text, user_id=ALICE[0], user_name=ALICE[1], channel_id=CHANNEL,
        response_url=bot.slack.new_response_url(channel_id=CHANNEL, user_id=ALICE[0]),
        trigger_id=bot.slack.new_trigger_id(),
    )
    return body, payloads.sign(body, SIGNING_SECRET)


async def duplicates(bot: Bot) -> list[Any]:
    await bot.settle()  # the refusal is audited right after the ack
    return [row for row in await bot.services.audit.query(limit=None) if row.outcome == "duplicate"]


async def test_a_replayed_command_is_acked_with_already_received_and_does_nothing(bot: Bot) -> None:
    body, headers = signed_command(bot, "/comm", ONE_LINE)
    first = await bot.post(body, headers=headers)
    assert "Saving the START communication" in first.text
    await bot.slack.wait_for("chat.postMessage")
    await bot.settle()

    again = await bot.post(body, headers=headers)
    assert again.status_code == 200
    assert "already received this exact request" in again.text and "did nothing" in again.text
    rows = await duplicates(bot)
    assert len(await bot.vendor_calls(UPSERT)) == 1
    assert len(bot.slack.calls("chat.postMessage")) == 1
    assert [(row.action, row.user_id, row.error_code) for row in rows] == [("comm.upsert", ALICE[0], "replay")]
    served = [row for row in await bot.services.audit.query() if row.outcome == "ok"]
    assert rows[0].arguments["first_attempt_id"] == served[0].attempt_id  # the replay names the attempt it repeats
    assert rows[0].attempt_id not in (None, served[0].attempt_id)


async def test_the_same_command_sent_anew_is_not_a_replay(bot: Bot) -> None:
    for _ in range(2):  # each has its own signature: Slack signs every request it sends
        body, headers = signed_command(bot, "/comm", "help")
        assert "/comm upsert" in (await bot.post(body, headers=headers)).text
    assert await duplicates(bot) == []


async def test_a_replayed_click_pauses_once(sandbox: Sandbox, tmp_path: Path) -> None:
    async with campaign_bot(sandbox, tmp_path) as bot:
        await bot.command("/campaign", "pause winback march")
        await bot.reply()
        preview = last_ephemeral(bot)
        action = payloads.button_action(preview, action_id="campaign.pause")
        body = payloads.block_actions(
            action, user_id=ALICE[0], user_name=ALICE[1], channel_id=CHANNEL, message=preview,
            response_url=bot.slack.new_response_url(channel_id=CHANNEL, user_id=ALICE[0]),
            trigger_id=bot.slack.new_trigger_id())
        headers = payloads.sign(body, SIGNING_SECRET)
        assert (await bot.post(body, headers=headers)).status_code == 200
        await bot.reply(lambda call: call.args.get("response_type") == "in_channel")
        await bot.settle()
        bot.slack.clear()

        again = await bot.post(body, headers=headers)
        assert again.status_code == 200 and again.text == ""
        rows = await duplicates(bot)
        assert len(puts(bot, WINBACK)) == 1
        assert bot.slack.calls("response_url") == []  # not even a message
        assert [(row.action, row.error_code) for row in rows] == [("campaign.pause", "replay")]


async def test_a_replayed_form_saves_once(bot: Bot) -> None:
    view = await open_form(bot)
    body = payloads.view_submission(view, {"sender": "LOYALT"}, user_id=ALICE[0], user_name=ALICE[1],
                                    trigger_id=bot.slack.new_trigger_id(view_id=view["id"]))
    headers = payloads.sign(body, SIGNING_SECRET)
    first = await bot.post(body, headers=headers)
    assert first.json()["response_action"] == "update"
    await bot.slack.wait_for("chat.postMessage")
    await bot.settle()

    again = await bot.post(body, headers=headers)
    assert again.status_code == 200 and again.text == ""
    rows = await duplicates(bot)
    assert len(await bot.vendor_calls(UPSERT)) == 1
    assert [(row.action, row.error_code) for row in rows] == [("comm.upsert", "replay")]
    assert rows[0].arguments["callback_id"] == "comm.upsert"


@contextlib.asynccontextmanager
async def two_replicas(sandbox: Sandbox, tmp_path: Path, database_url: str) -> AsyncIterator[tuple[Bot, Bot]]:
    """Two bots, each its own process state and store engine, on one database (each backend)."""
    slack = SlackEmulator()  # one workspace, two replicas of the bot
    async with slack.serve(), running_bot(sandbox, tmp_path, slack=slack, database_url=database_url) as one, \
            running_bot(sandbox, tmp_path, slack=slack, database_url=database_url) as two:
        assert one.services.store is not two.services.store
        assert one.services.settings.database_url == two.services.settings.database_url
        yield one, two


async def test_two_replicas_serve_the_same_signed_request_once(sandbox: Sandbox, tmp_path: Path,
                                                               database_url: str) -> None:
    async with two_replicas(sandbox, tmp_path, database_url) as (one, two):
        body, headers = signed_command(one, "/comm", ONE_LINE)
        # At the same moment: each replica answers Slack at once, and the store lets exactly one of them act.
        answers = await asyncio.gather(one.post(body, headers=headers), two.post(body, headers=headers))
        assert all(answer.status_code == 200 for answer in answers)
        await one.settle()
        await two.settle()
        # Later, to either replica: each remembers what it saw, and the store which of them served it.
        later = [await replica.post(body, headers=headers) for replica in (one, two)]
        await one.settle()
        await two.settle()
        upserts = [call for call in sandbox.state.recorded_calls(method="POST") if call["path"] == UPSERT]
        assert len(upserts) == 1
        confirmations = one.slack.calls("chat.postMessage")  # one Slack for both replicas
        assert len(confirmations) == 1  # the replica that lost the race said nothing either
        rows = [row for row in await one.services.audit.query(limit=None) if row.action == "comm.upsert"]
        assert sorted(row.outcome for row in rows) == ["duplicate", "duplicate", "duplicate", "ok"]
        served = next(row for row in rows if row.outcome == "ok")
        assert {row.arguments["first_attempt_id"] for row in rows if row.outcome == "duplicate"} == {
            served.attempt_id}
        assert all("already received" in answer.text for answer in later)


async def test_a_replay_sent_to_another_replica_is_answered_but_not_served(sandbox: Sandbox, tmp_path: Path) -> None:
    async with two_replicas(sandbox, tmp_path, f"sqlite+aiosqlite:///{tmp_path}/shared.db") as (one, two):
        body, headers = signed_command(one, "/comm", ONE_LINE)
        assert "Saving" in (await one.post(body, headers=headers)).text
        await one.slack.wait_for("chat.postMessage")
        await one.settle()
        replayed = await two.post(body, headers=headers)  # two never saw it: it answers before asking the store
        assert replayed.status_code == 200
        await two.settle()
        assert len(await one.vendor_calls(UPSERT)) == 1
        assert len(one.slack.calls("chat.postMessage")) == 1  # one Slack for both: the replay posted nothing
        assert one.slack.calls("response_url") == []  # nothing said to the channel on the replay's account
        rows = await duplicates(two)
        assert [(row.action, row.error_code) for row in rows] == [("comm.upsert", "replay")]


async def test_socket_mode_requests_and_unsigned_ones_are_not_checked(bot: Bot) -> None:
    from slack_bolt.request.async_request import AsyncBoltRequest

    from bot.app import build_app, close_app

    app = build_app(bot.services)  # the same services: the same store
    try:
        body = payloads.slash_command("/comm", "help", user_id=ALICE[0], user_name=ALICE[1], channel_id=CHANNEL,
                                      response_url=bot.slack.new_response_url(), trigger_id="1.2.3")
        for _ in range(2):  # a Socket Mode envelope carries no signature (the socket is authenticated)
            answer = await app.async_dispatch(AsyncBoltRequest(body=body, mode="socket_mode"))
            assert "/comm upsert" in str(answer.body)
    finally:
        await close_app(app)
    assert await duplicates(bot) == []


async def test_a_replay_storm_is_served_once(bot: Bot) -> None:
    replays = 4
    body, headers = signed_command(bot, "/comm", ONE_LINE)
    async with httpx.AsyncClient(timeout=10) as http:
        answers = await asyncio.gather(*(http.post(f"{bot.url}/slack/events", content=body, headers=headers)
                                         for _ in range(replays)))
    assert sum("already received" in answer.text for answer in answers) == replays - 1
    await bot.settle()
    assert len(await bot.vendor_calls(UPSERT)) == 1


async def test_when_the_store_cannot_tell_nothing_is_done(bot: Bot) -> None:
    async with bot.services.store.engine.begin() as connection:
        await connection.exec_driver_sql("DROP TABLE seen_requests")
    body, headers = signed_command(bot, "/comm", ONE_LINE)
    answer = await bot.post(body, headers=headers)
    assert answer.status_code == 200  # answered at once, as every request; the work waits for the store
    notice = await bot.reply()
    assert "could not make sure it had not received this request before" in notice.args["text"]
    await bot.settle()
    assert await bot.vendor_calls(UPSERT) == []
    assert bot.slack.calls("chat.postMessage") == []
