"""/resend over signed HTTP, as Slack would send it, against the sandbox."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.devtools import slack_payloads as payloads
from tests.e2e.conftest import ALICE, BOB, Bot, stale_headers

SEED, SEED_RESENT = 1746061653596, 1748743190124
RESEND = "/v2/communications/resend"


def text_of(call_args: dict[str, object]) -> str:
    return str(call_args.get("text", "")) + str(call_args.get("blocks", ""))


async def test_resend_is_acked_at_once_and_the_confirmation_reaches_the_channel(bot: Bot) -> None:
    response = await bot.command("/resend", str(SEED))
    assert response.status_code == 200
    assert "Resending message 1746061653596" in response.text
    reply = await bot.reply()
    assert reply.args["response_type"] == "in_channel"
    shown = text_of(reply.args)
    assert str(SEED_RESENT) in shown and "100737" in shown and f"<@{ALICE[0]}>" in shown


async def test_several_ids_get_one_reply_with_a_line_each(bot: Bot) -> None:
    await bot.command("/resend", f"{SEED}, 174606165 {SEED}")
    shown = text_of((await bot.reply()).args)
    assert str(SEED_RESENT) in shown
    assert "Message 174606165 was not found in org 100737" in shown
    assert len(await bot.vendor_calls(RESEND)) == 2  # the repeated id was sent once


async def test_bad_input_gets_usage_and_no_api_call(bot: Bot) -> None:
    for text, says in [("", "at least one message id"), ("abc", "“abc” is not a message id"),
                       ("-4", "positive"), (" ".join(str(n) for n in range(1, 52)), "at most 50")]:
        response = await bot.command("/resend", text)
        assert response.status_code == 200
        assert says in response.text  # an ack with text only: Slack shows it to the caller alone
        assert "Usage" in response.text
    await bot.settle()
    assert await bot.vendor_calls(RESEND) == []
    assert bot.slack.calls("response_url") == []


async def test_help_is_usage(bot: Bot) -> None:
    response = await bot.command("/resend", "help")
    assert response.text.startswith("*Usage:* `/resend &lt;messageId&gt; [&lt;messageId&gt; …]`")


async def test_forged_and_stale_requests_are_refused_without_any_call(bot: Bot) -> None:
    body = payloads.slash_command("/resend", str(SEED), user_id=ALICE[0], user_name=ALICE[1], channel_id="C1",
                                  response_url=bot.slack.new_response_url(), trigger_id="t")
    forged = payloads.sign(body, "not-the-secret")
    assert (await bot.post(body, headers=forged)).status_code == 401
    assert (await bot.post(body, headers=stale_headers(body))).status_code == 401
    await bot.settle()
    assert await bot.vendor_calls(RESEND) == []
    assert bot.slack.calls("response_url") == []


async def test_vendor_failures_are_sentences_and_the_bot_keeps_serving(bot: Bot) -> None:
    cases = [({"kind": "status", "status": 500}, "unavailable right now", "9000000000001"),
             ({"kind": "timeout"}, "did not answer within 0.5 s", "9000000000002"),
             ({"kind": "rate_limit"}, "rate limiting", "9000000000003")]
    for rule, says, message_id in cases:
        await bot.fault(path=RESEND, **rule)
        await bot.command("/resend", message_id)
        reply = await bot.reply(lambda call, says=says: says in text_of(call.args))
        assert message_id in text_of(reply.args)
    bot.slack.clear()
    await bot.command("/resend", str(SEED))
    assert str(SEED_RESENT) in text_of((await bot.reply()).args)


async def test_a_recent_resend_is_not_repeated_until_someone_says_resend_anyway(bot: Bot) -> None:
    await bot.command("/resend", str(SEED))
    await bot.reply()
    bot.slack.clear()
    await bot.command("/resend", str(SEED), user=BOB)
    reply = await bot.reply()
    shown = text_of(reply.args)
    assert f"was resent by <@{ALICE[0]}>" in shown and str(SEED_RESENT) in shown and "Not resent again" in shown
    assert len(await bot.vendor_calls(RESEND)) == 1
    message = bot.slack.messages("C0OPS0001")[-1]
    bot.slack.clear()
    await bot.click(message, action_id="resend.anyway", value=f"{SEED}@1", user=BOB)
    update = await bot.reply()
    assert update.args.get("replace_original") is True
    assert "resend anyway by <@U0BOB0001>" in text_of(update.args)
    assert len(await bot.vendor_calls(RESEND)) == 2


async def test_a_resend_anyway_button_resends_once_however_often_it_is_clicked(bot: Bot) -> None:
    await bot.command("/resend", str(SEED))
    await bot.reply()
    bot.slack.clear()
    await bot.command("/resend", str(SEED), user=BOB)
    await bot.reply()
    stale_copy = bot.slack.messages("C0OPS0001")[-1]
    bot.slack.clear()
    await bot.click(stale_copy, action_id="resend.anyway", value=f"{SEED}@1", user=BOB)
    await bot.reply()
    bot.slack.clear()
    await bot.click(stale_copy, action_id="resend.anyway", value=f"{SEED}@1")  # a second person, same old button
    second = await bot.reply()
    assert f"was resent by <@{BOB[0]}>" in text_of(second.args) and "Not resent again" in text_of(second.args)
    assert len(await bot.vendor_calls(RESEND)) == 2  # the command's and the first click's, nothing more


async def test_the_guard_holds_when_two_people_resend_at_once(bot: Bot) -> None:
    await asyncio.gather(bot.command("/resend", str(SEED)), bot.command("/resend", str(SEED), user=BOB))
    await bot.slack.wait_for("response_url")
    await bot.settle()
    assert len(await bot.vendor_calls(RESEND)) == 1


async def test_healthz_is_liveness_and_stays_up_when_the_store_is_down(bot: Bot,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    response = await bot.http.get(f"{bot.url}/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"

    def down() -> Any:
        raise ConnectionRefusedError("the database is down")

    monkeypatch.setattr(bot.services.store, "session", down)
    monkeypatch.setattr(bot.services.store, "probe", down)  # what /readyz asks through
    assert (await bot.http.get(f"{bot.url}/healthz")).status_code == 200
    ready = await bot.http.get(f"{bot.url}/readyz")
    assert ready.status_code == 503 and "store" in ready.json()["missing"]


async def test_a_refused_response_url_does_not_lose_the_result(bot: Bot) -> None:
    bot.slack.fail_next("response_url", "expired_url", status=404)
    await bot.command("/resend", str(SEED))
    posted = await bot.slack.wait_for("chat.postMessage")
    assert posted.args["channel"] == "C0OPS0001" and str(SEED_RESENT) in text_of(posted.args)


async def test_when_neither_the_response_url_nor_the_channel_takes_the_result_it_comes_by_dm(bot: Bot) -> None:
    bot.slack.fail_next("response_url", "expired_url", status=404)
    bot.slack.fail_next("chat.postMessage", "not_in_channel")
    bot.slack.fail_next("chat.postEphemeral", "channel_not_found")
    await bot.command("/resend", str(SEED))
    await bot.settle()
    delivered = bot.slack.calls("chat.postMessage")
    assert [call.args["channel"] for call in delivered] == [ALICE[0]]
    assert str(SEED_RESENT) in text_of(delivered[0].args)
