"""The Resend from message shortcut over signed HTTP: the modal, the submission, the guard, the audit, the reply."""

from __future__ import annotations

import json
from typing import Any

import httpx

from bot.devtools import slack_payloads as payloads
from tests.e2e.conftest import ALICE, CHANNEL, Bot

SEED, SEED_RESENT = 1746061653596, 1748743190124
RESEND = "/v2/communications/resend"
CAROL = ("U0CAROL01", "carol")  # in no grant of the default policy
SHORTCUT = "resend_from_message"


def posted_message(text: str, blocks: list[dict[str, Any]] | None = None,
                   ts: str = "1764200000.000100") -> dict[str, Any]:
    message: dict[str, Any] = {"type": "message", "user": "U0OTHER01", "ts": ts, "text": text}
    if blocks is not None:
        message["blocks"] = blocks
    return message


async def use_shortcut(bot: Bot, message: dict[str, Any], *, user: tuple[str, str] = ALICE,
                       channel: str = CHANNEL) -> httpx.Response:
    body = payloads.message_action(
        message, callback_id=SHORTCUT, user_id=user[0], user_name=user[1], channel_id=channel,
        response_url=bot.slack.new_response_url(channel_id=channel, user_id=user[0], message_ts=message["ts"]),
        trigger_id=bot.slack.new_trigger_id())
    return await bot.post(body)


async def opened_view(bot: Bot) -> dict[str, Any]:
    call = await bot.slack.wait_for("views.open")
    assert call.ok, call.error
    assert call.result is not None
    view: dict[str, Any] = call.result["view"]
    return view


async def submit(bot: Bot, view: dict[str, Any], values: dict[str, Any] | None = None, *,
                 user: tuple[str, str] = ALICE) -> httpx.Response:
    body = payloads.view_submission(view, values, user_id=user[0], user_name=user[1],
                                    trigger_id=bot.slack.new_trigger_id(view_id=view["id"]))
    return await bot.post(body)


def text_of(args: dict[str, Any]) -> str:
    return str(args.get("text", "")) + str(args.get("blocks", ""))


def checkbox_values(view: dict[str, Any]) -> list[str]:
    return [option["value"] for block in view["blocks"] if block["type"] == "input"
            for option in block["element"]["options"]]


async def test_one_id_is_offered_and_resent_once_with_the_reply_in_the_channel(bot: Bot) -> None:
    message = posted_message(f"Undelivered: message {SEED} to +919845000001 at 10:02")
    assert (await use_shortcut(bot, message)).status_code == 200
    view = await opened_view(bot)
    assert checkbox_values(view) == [str(SEED)]
    assert view["blocks"][1]["element"]["initial_options"] == view["blocks"][1]["element"]["options"]
    answer = await submit(bot, view)
    assert answer.status_code == 200 and json.loads(answer.text)["response_action"] == "update"
    post = await bot.slack.wait_for("chat.postMessage")
    assert post.args["channel"] == CHANNEL
    assert str(SEED_RESENT) in text_of(post.args) and f"<@{ALICE[0]}>" in text_of(post.args)
    await bot.settle()
    assert len(await bot.vendor_calls(RESEND)) == 1
    rows = [row for row in await bot.services.audit.query() if row.action == "resend"]
    assert [(row.outcome, row.channel_id, row.user_id) for row in rows] == [("ok", CHANNEL, ALICE[0])]
    # The form then says where the result went.
    update = bot.slack.calls("views.update")[-1]
    assert f"posted in <#{CHANNEL}>" in text_of(update.args["view"])

    # The same id again is caught by /resend's duplicate guard.
    bot.slack.clear()
    await use_shortcut(bot, message)
    await submit(bot, await opened_view(bot))
    post = await bot.slack.wait_for("chat.postMessage")
    assert "Not resent again" in text_of(post.args)
    await bot.settle()
    assert len(await bot.vendor_calls(RESEND)) == 1


async def test_a_message_without_ids_says_so(bot: Bot) -> None:
    await use_shortcut(bot, posted_message("All good today, ts 1764200000.000100, call +919845000001"))
    view = await opened_view(bot)
    assert "No message ids in this message" in text_of(view)
    assert view.get("submit") is None
    await bot.settle()
    assert await bot.vendor_calls(RESEND) == []


async def test_sixty_ids_offer_fifty_and_resend_only_the_ticked(bot: Bot) -> None:
    ids = [9000000000100 + n for n in range(60)]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": " ".join(str(i) for i in ids[:30])}},
              {"type": "context", "elements": [{"type": "mrkdwn", "text": ", ".join(str(i) for i in ids[30:])}]}]
    await use_shortcut(bot, posted_message("Failed ids below", blocks))
    view = await opened_view(bot)
    assert checkbox_values(view) == [str(i) for i in ids[:50]]
    assert "10 more ids were left out" in text_of(view)
    assert len(view["blocks"]) <= 100
    values: dict[str, Any] = {f"ids-{n}": [] for n in range(5)}
    values["ids-0"] = [str(ids[0]), str(ids[3])]
    await submit(bot, view, values)
    await bot.slack.wait_for("chat.postMessage")
    await bot.settle()
    sent = sorted(call["json"]["messageId"] for call in await bot.vendor_calls(RESEND))
    assert sent == [ids[0], ids[3]]


async def test_ticking_nothing_asks_again(bot: Bot) -> None:
    await use_shortcut(bot, posted_message(f"{SEED}"))
    view = await opened_view(bot)
    answer = await submit(bot, view, {"ids-0": []})
    assert json.loads(answer.text) == {"response_action": "errors",
                                       "errors": {"ids-0": "Tick at least one message id, or Cancel."}}
    await bot.settle()
    assert await bot.vendor_calls(RESEND) == []


async def test_someone_without_resend_is_refused_at_the_shortcut_and_at_submission(bot: Bot) -> None:
    message = posted_message(f"{SEED}")
    await use_shortcut(bot, message, user=CAROL)
    reply = await bot.reply()
    assert "not allowed to run `resend`" in text_of(reply.args)
    await bot.settle()
    assert bot.slack.calls("views.open") == []
    # A form alice opened, submitted by carol (or forged for her), is judged for carol.
    await use_shortcut(bot, message)
    view = await opened_view(bot)
    answer = await submit(bot, view, user=CAROL)
    assert "errors" in json.loads(answer.text)
    await bot.settle()
    assert await bot.vendor_calls(RESEND) == []
    denials = [row for row in await bot.services.audit.query() if row.outcome == "denied"]
    assert [row.user_id for row in denials] == [CAROL[0], CAROL[0]]


async def test_forged_metadata_or_ids_are_refused(bot: Bot) -> None:
    await use_shortcut(bot, posted_message(f"{SEED}"))
    view = await opened_view(bot)
    for metadata in ("not json", json.dumps({"channel_id": CHANNEL, "message_ts": "1.2", "ids": ["12"]}),
                     json.dumps({"channel_id": CHANNEL, "message_ts": "1.2", "ids": [str(SEED)], "x": 1})):
        answer = await submit(bot, {**view, "private_metadata": metadata})
        assert "does not carry what commops put in it" in answer.text
    # An id the form never offered, ticked in a forged state.
    forged = {"ids-0": {"type": "checkboxes", "selected_options": [{"value": "9000000000999"}]}}
    answer = await submit(bot, view, forged)
    assert "does not carry what commops put in it" in answer.text
    await bot.settle()
    assert await bot.vendor_calls(RESEND) == []
    invalid = [row for row in await bot.services.audit.query() if row.action == "resend"]
    assert [row.outcome for row in invalid] == ["invalid"] * 4


async def test_in_a_channel_the_bot_is_not_in_the_result_comes_by_direct_message(bot: Bot) -> None:
    elsewhere = "C0NOTIN01"
    bot.slack.add_channel(elsewhere, is_member=False)
    await use_shortcut(bot, posted_message(f"{SEED}"), channel=elsewhere)
    view = await opened_view(bot)
    await submit(bot, view)
    dm = await bot.slack.wait_for("chat.postMessage", lambda call: call.ok)
    assert dm.args["channel"] == ALICE[0] and str(SEED_RESENT) in text_of(dm.args)
    refused = [call.error for call in bot.slack.calls(include_failed=True) if call.method.startswith("chat.post")]
    assert refused == ["not_in_channel", "not_in_channel", None]  # the channel, then ephemeral there, then the DM
    await bot.settle()
    assert len(await bot.vendor_calls(RESEND)) == 1
    update = bot.slack.calls("views.update")[-1]
    assert "direct message" in text_of(update.args["view"])
