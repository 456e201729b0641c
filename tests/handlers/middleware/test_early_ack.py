"""Listeners answer Slack the moment they ack; a failure after that still reaches the user."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import dispatch
from bot.background import BackgroundWork
from bot.devtools import slack_payloads as payloads
from bot.devtools.slack_emulator import SlackEmulator
from handlers.middleware.early_ack import GATE_KEY, Listeners, Stop

SECRET = "early-ack-secret"


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    emulator = SlackEmulator()
    async with emulator.serve():
        yield emulator


def app_with(slack: SlackEmulator, register: Any) -> tuple[AsyncApp, BackgroundWork]:
    app = AsyncApp(client=AsyncWebClient(token="xoxb-early", base_url=slack.api_url), signing_secret=SECRET,
                   process_before_response=True)
    background = BackgroundWork()
    register(Listeners(app, background))
    return app, background


async def test_the_ack_is_answered_before_the_work_finishes(slack: SlackEmulator) -> None:
    release = asyncio.Event()

    def register(app: Listeners) -> None:
        @app.command("/slow")
        async def slow(ack: AsyncAck) -> None:
            await ack(text="on it")
            await release.wait()

    app, background = app_with(slack, register)
    body = payloads.slash_command("/slow", "", user_id="U1", user_name="u", channel_id="C1",
                                  response_url=slack.new_response_url(channel_id="C1", user_id="U1"), trigger_id="t")
    response = await asyncio.wait_for(dispatch(app, body, payloads.sign(body, SECRET)), timeout=1)
    assert (response.status, response.body) == (200, "on it")
    assert background.pending == 1
    release.set()
    assert await background.drain(1) == 0


async def test_a_form_that_fails_after_its_ack_is_not_left_saying_saving(slack: SlackEmulator) -> None:
    def register(app: Listeners) -> None:
        @app.view("form")
        async def submitted(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
            await ack(response_action="update", view={"type": "modal", "title": {"type": "plain_text", "text": "x"},
                                                      "blocks": [{"type": "section", "text": {
                                                          "type": "mrkdwn", "text": "Saving…"}}]})
            raise RuntimeError("the vendor client blew up")

    app, background = app_with(slack, register)
    opened = await AsyncWebClient(token="xoxb-early", base_url=slack.api_url).views_open(
        trigger_id=slack.new_trigger_id(), view={"type": "modal", "callback_id": "form",
                                                 "title": {"type": "plain_text", "text": "Form"},
                                                 "blocks": [{"type": "section", "text": {"type": "mrkdwn",
                                                                                         "text": "hi"}}]})
    body = payloads.view_submission(opened["view"], {}, user_id="U1", user_name="u", trigger_id="t")
    response = await dispatch(app, body, payloads.sign(body, SECRET))
    assert response.status == 200 and "Saving" in response.body
    await background.drain(2)
    update = await slack.wait_for("views.update")
    assert "Something went wrong on our side" in str(update.args["view"])


@pytest.mark.parametrize("notice", [None, "Not done: try again."])
async def test_a_gate_lets_slack_have_its_answer_and_stops_the_work(slack: SlackEmulator, notice: str | None) -> None:
    opened, worked = asyncio.Event(), []

    async def gate() -> None:
        await opened.wait()
        raise Stop(notice)

    async def put_gate(context: Any, next_: Any) -> None:
        context[GATE_KEY] = gate
        await next_()

    def register(app: Listeners) -> None:
        @app.command("/gated")
        async def gated(ack: AsyncAck) -> None:
            await ack(text="on it")
            worked.append(True)

    app, background = app_with(slack, register)
    app.middleware(put_gate)
    body = payloads.slash_command("/gated", "", user_id="U1", user_name="u", channel_id="C1",
                                  response_url=slack.new_response_url(channel_id="C1", user_id="U1"), trigger_id="t")
    response = await asyncio.wait_for(dispatch(app, body, payloads.sign(body, SECRET)), timeout=1)
    assert (response.status, response.body) == (200, "on it")  # answered while the gate is still closed
    opened.set()
    assert await background.drain(1) == 0
    assert worked == []
    told = [call.args.get("text") for call in slack.calls("response_url")]
    assert told == ([] if notice is None else [notice])
