"""Signed request builders, checked against the real thing: Bolt's AsyncApp must verify and parse every body."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import httpx
import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.devtools.local_server import free_port
from bot.devtools.slack_emulator import SlackEmulator
from bot.devtools.slack_payloads import (
    SlackActor,
    block_actions,
    button_action,
    select_action,
    sign,
    slash_command,
    view_state,
    view_submission,
)
from tests.conftest import EmulatorServer

module_loop = pytest.mark.asyncio(loop_scope="module")  # the async tests share the module's server and loop

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test-token"
ASHA = SlackActor(user_id="U012ABCDEF", user_name="asha", channel_id="C0OPS0001")


def payload_of(body: str) -> dict[str, Any]:
    return dict(json.loads(parse_qs(body)["payload"][0]))


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def option(value: str, text: str | None = None) -> dict[str, Any]:
    return {"text": plain(text or value), "value": value}


UPSERT_MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "comm_upsert",
    "private_metadata": '{"group": 7, "target": 9}',
    "title": plain("Target message"),
    "submit": plain("Save"),
    "blocks": [
        {
            "type": "input",
            "block_id": "sender",
            "label": plain("Sender"),
            "element": {"type": "plain_text_input", "action_id": "value", "initial_value": "CAPILLARY"},
        },
        {
            "type": "input",
            "block_id": "message",
            "label": plain("Message"),
            "element": {"type": "plain_text_input", "action_id": "value", "multiline": True},
        },
        {
            "type": "input",
            "block_id": "channel",
            "label": plain("Channel"),
            "element": {
                "type": "static_select",
                "action_id": "channel_id",
                "options": [option("1", "SMS"), option("2", "EMAIL")],
                "initial_option": option("1", "SMS"),
            },
        },
        {
            "type": "input",
            "block_id": "offset",
            "label": plain("Offset days"),
            "element": {"type": "number_input", "action_id": "days", "is_decimal_allowed": False},
        },
        {
            "type": "input",
            "block_id": "flags",
            "label": plain("Flags"),
            "optional": True,
            "element": {"type": "checkboxes", "action_id": "flags", "options": [option("active"), option("test")]},
        },
        {
            "type": "input",
            "block_id": "owner",
            "label": plain("Owner"),
            "optional": True,
            "element": {"type": "users_select", "action_id": "owner"},
        },
        {
            "type": "input",
            "block_id": "starts",
            "label": plain("Starts"),
            "optional": True,
            "element": {"type": "datepicker", "action_id": "starts", "initial_date": "2025-11-11"},
        },
    ],
}


def resend_blocks(message_id: str) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"Message {message_id} was not delivered"}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "resend",
                    "text": plain("Resend"),
                    "value": message_id,
                    "style": "primary",
                },
                {"type": "button", "action_id": "ignore", "text": plain("Ignore"), "value": message_id},
                {"type": "overflow", "action_id": "more", "options": [option("mute", "Mute 1h"), option("audit")]},
            ],
        },
    ]


# --- pure builders ----------------------------------------------------------------------------------------------


def test_sign_matches_slack_sdk() -> None:
    body = "token=x&text=hello+world"
    headers = sign(body, SECRET, timestamp=1_700_000_000)
    verifier = SignatureVerifier(SECRET)
    assert headers["X-Slack-Signature"] == verifier.generate_signature(timestamp="1700000000", body=body)
    assert headers["X-Slack-Request-Timestamp"] == "1700000000"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert verifier.is_valid_request(body, sign(body, SECRET))  # default timestamp is now
    assert not verifier.is_valid_request(body, sign(body, "other-secret"))


def test_slash_command_fields_in_slack_order() -> None:
    body = slash_command(
        "/resend",
        "42 43",
        user_id="U1",
        user_name="asha",
        channel_id="C1",
        response_url="http://x/response/1",
        trigger_id="1.2.3",
    )
    fields = parse_qsl(body, keep_blank_values=True)
    assert [k for k, _ in fields] == [
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    ]
    values = dict(fields)
    assert (values["command"], values["text"], values["team_id"]) == ("/resend", "42 43", "T0001")
    assert "%2Fresend" in body and "42+43" in body  # encoded like Slack: slash escaped, spaces as '+'
    with pytest.raises(ValueError, match="starts with '/'"):
        slash_command("resend", "", user_id="U1", user_name="a", channel_id="C1", response_url="u", trigger_id="t")


def test_button_and_select_actions_come_from_rendered_blocks() -> None:
    message: dict[str, Any] = {"ts": "1700000000.000100", "blocks": resend_blocks("42")}
    message["blocks"][1]["block_id"] = "alert_actions"
    action = button_action(message, text="Resend")
    assert action["action_id"] == "resend" and action["block_id"] == "alert_actions"
    assert (action["value"], action["type"], action["style"]) == ("42", "button", "primary")
    assert float(action["action_ts"]) > 0
    with pytest.raises(LookupError, match="2 elements"):
        button_action(message, value="42")
    with pytest.raises(LookupError, match="no element"):
        button_action(message, action_id="nope")
    picked = select_action(message, "more", "Mute 1h")
    assert picked["type"] == "overflow" and picked["selected_option"]["value"] == "mute"


def test_view_state_is_what_slack_reports() -> None:
    values = view_state(
        UPSERT_MODAL,
        {"message": "Hi {{first_name}}", "channel_id": "EMAIL", "days": 3, "flags": ["active"], "owner": "U2"},
    )
    assert values["sender"]["value"] == {"type": "plain_text_input", "value": "CAPILLARY"}  # untouched: initial
    assert values["message"]["value"] == {"type": "plain_text_input", "value": "Hi {{first_name}}"}  # by block_id
    assert values["channel"]["channel_id"]["selected_option"] == option("2", "EMAIL")  # by visible label
    assert values["offset"]["days"] == {"type": "number_input", "value": "3"}  # numbers arrive as strings
    assert values["flags"]["flags"]["selected_options"] == [option("active")]
    assert values["owner"]["owner"] == {"type": "users_select", "selected_user": "U2"}
    assert values["starts"]["starts"] == {"type": "datepicker", "selected_date": "2025-11-11"}
    empty = view_state(UPSERT_MODAL)
    assert empty["message"]["value"]["value"] is None and empty["flags"]["flags"]["selected_options"] == []
    with pytest.raises(KeyError, match="key the input by block_id"):
        view_state(UPSERT_MODAL, {"value": "which one?"})  # sender and message both use action_id "value"
    with pytest.raises(KeyError, match="sendr"):
        view_state(UPSERT_MODAL, {"sendr": "x"})
    with pytest.raises(ValueError, match="not an option"):
        view_state(UPSERT_MODAL, {"channel_id": "PIGEON"})


def test_block_actions_shapes() -> None:
    message: dict[str, Any] = {"ts": "1700000000.000100", "blocks": resend_blocks("42")}
    action = button_action(message, action_id="resend")
    on_message = payload_of(ASHA.click(action, message=message, response_url="http://x/r/1", trigger_id="t1"))
    assert on_message["container"] == {
        "type": "message",
        "message_ts": "1700000000.000100",
        "channel_id": "C0OPS0001",
        "is_ephemeral": False,
    }
    assert on_message["user"] == {"id": "U012ABCDEF", "username": "asha", "name": "asha", "team_id": "T0001"}
    assert on_message["channel"]["id"] == "C0OPS0001" and on_message["message"]["ts"] == message["ts"]
    ephemeral = payload_of(ASHA.click(action, message={**message, "is_ephemeral": True}, trigger_id="t2"))
    assert ephemeral["container"]["is_ephemeral"] and "message" not in ephemeral  # Slack does not echo those
    in_modal = payload_of(ASHA.click(action, view={"id": "V1", "blocks": []}, trigger_id="t3"))
    assert in_modal["container"] == {"type": "view", "view_id": "V1"}
    assert {"channel", "message", "response_url"}.isdisjoint(in_modal) and in_modal["view"]["id"] == "V1"
    with pytest.raises(ValueError, match="message or a view"):
        block_actions(action, user_id="U1", user_name="a", trigger_id="t")


def test_view_submission_shape() -> None:
    body = view_submission({**UPSERT_MODAL, "id": "V9"}, {"message": "Hi"}, user_id="U1", user_name="a", trigger_id="t")
    payload = payload_of(body)
    assert payload["type"] == "view_submission" and payload["response_urls"] == []
    view = payload["view"]
    assert (view["id"], view["callback_id"], view["root_view_id"]) == ("V9", "comm_upsert", "V9")
    assert view["private_metadata"] == UPSERT_MODAL["private_metadata"]
    assert view["state"]["values"]["message"]["value"]["value"] == "Hi"


# --- through Bolt -----------------------------------------------------------------------------------------------


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> SlackEmulator:
    return emulator_server.mount(SlackEmulator())


def build_app(emulator: SlackEmulator) -> tuple[AsyncApp, dict[str, Any]]:
    """A Bolt app wired like the bot's: signed requests in, Web API calls to the emulator out."""
    seen: dict[str, Any] = {}
    # Bolt ignores `token` when `client` is given (and logs a warning), so the token goes on the client only.
    app = AsyncApp(
        signing_secret=SECRET,
        client=AsyncWebClient(token=TOKEN, base_url=emulator.api_url),
        request_verification_enabled=True,
    )

    @app.command("/resend")
    async def resend(ack: Any, command: dict[str, Any], respond: Any, client: AsyncWebClient) -> None:
        await ack()
        seen["command"] = command
        await client.views_open(trigger_id=command["trigger_id"], view=UPSERT_MODAL)
        await respond(f"Resending {command['text']}")

    @app.action("resend")
    async def clicked(ack: Any, action: dict[str, Any], body: dict[str, Any], respond: Any) -> None:
        await ack()
        seen["action"], seen["action_user"] = action, body["user"]["id"]
        await respond(replace_original=True, text=f"Resent {action['value']}")

    @app.view("comm_upsert")
    async def submitted(ack: Any, view: dict[str, Any], body: dict[str, Any]) -> None:
        seen["view"], seen["view_user"] = view, body["user"]["id"]
        if not view["state"]["values"]["message"]["value"]["value"]:
            await ack(response_action="errors", errors={"message": "Write the message"})
            return
        await ack()

    @app.view_closed("comm_upsert")
    async def closed(ack: Any, view: dict[str, Any]) -> None:
        seen["closed"] = view["id"]
        await ack()

    return app, seen


async def dispatch(app: AsyncApp, body: str, headers: dict[str, str] | None = None) -> BoltResponse:
    signed: dict[str, str | Sequence[str]] = dict(headers or sign(body, SECRET))
    return await app.async_dispatch(AsyncBoltRequest(body=body, headers=signed))


@module_loop
async def test_bolt_parses_command_action_and_view_submission(emulator: SlackEmulator) -> None:
    app, seen = build_app(emulator)

    # /resend 42 43 -> the listener opens a modal with the trigger and answers through the response_url
    response_url = emulator.new_response_url(channel_id=ASHA.channel_id, user_id=ASHA.user_id)
    body = ASHA.command("/resend", "42 43", response_url=response_url, trigger_id=emulator.new_trigger_id())
    assert (await dispatch(app, body)).status == 200
    opened = await emulator.wait_for("views.open")
    answered = await emulator.wait_for("response_url")
    assert seen["command"]["text"] == "42 43" and seen["command"]["user_id"] == ASHA.user_id
    assert answered.args["text"] == "Resending 42 43" and answered.args["url"] == response_url
    assert emulator.ephemeral_messages(ASHA.channel_id, ASHA.user_id)[0]["text"] == "Resending 42 43"

    # a click on a button of a message the bot posted -> the listener replaces that message
    client = AsyncWebClient(token=TOKEN, base_url=emulator.api_url)
    posted = await client.chat_postMessage(channel=ASHA.channel_id, text="not delivered", blocks=resend_blocks("42"))
    message = posted["message"]
    click = ASHA.click(
        button_action(message, action_id="resend"),
        message=message,
        response_url=emulator.new_response_url(channel_id=ASHA.channel_id, message_ts=message["ts"]),
        trigger_id=emulator.new_trigger_id(),
    )
    assert (await dispatch(app, click)).status == 200
    await emulator.wait_for("response_url", lambda c: c.args.get("replace_original") is True)
    assert seen["action"]["value"] == "42" and seen["action_user"] == ASHA.user_id
    assert emulator.messages(ASHA.channel_id)[0]["text"] == "Resent 42"

    # submitting the modal the command opened: state values parsed; an empty field gets an inline error
    assert opened.result is not None
    view = emulator.views[opened.result["view"]["id"]]
    submit = ASHA.submit(view, {"message": "Hi", "channel_id": "2"}, trigger_id=emulator.new_trigger_id())
    assert (await dispatch(app, submit)).status == 200
    values = seen["view"]["state"]["values"]
    assert values["message"]["value"]["value"] == "Hi"
    assert values["channel"]["channel_id"]["selected_option"]["value"] == "2"
    assert seen["view"]["private_metadata"] == UPSERT_MODAL["private_metadata"] and seen["view_user"] == ASHA.user_id
    refused = await dispatch(app, ASHA.submit(view, trigger_id=emulator.new_trigger_id()))
    assert json.loads(refused.body) == {"response_action": "errors", "errors": {"message": "Write the message"}}

    assert (await dispatch(app, ASHA.close(view))).status == 200
    assert seen["closed"] == view["id"]
    assert emulator.calls("auth.test")  # Bolt's single-team authorization asked the emulator who the bot is


@module_loop
async def test_bolt_rejects_bad_signatures_and_stale_timestamps(emulator: SlackEmulator) -> None:
    app, seen = build_app(emulator)
    body = ASHA.command("/resend", "42", response_url=emulator.new_response_url(), trigger_id=emulator.new_trigger_id())
    assert (await dispatch(app, body, sign(body, "not-the-secret"))).status == 401
    assert (await dispatch(app, body, sign(body, SECRET, timestamp=int(time.time()) - 301))).status == 401
    assert (await dispatch(app, body, sign(body, SECRET, timestamp=int(time.time()) + 301))).status == 401
    tampered = sign(body, SECRET)
    assert (await dispatch(app, body.replace("42", "43"), tampered)).status == 401
    assert "command" not in seen
    assert (await dispatch(app, body, sign(body, SECRET, timestamp=int(time.time()) - 290))).status == 200


@module_loop
async def test_bolt_aiohttp_adapter_accepts_the_same_bodies(emulator: SlackEmulator) -> None:
    app, seen = build_app(emulator)
    runner = web.AppRunner(app.web_app(path="/slack/events"))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        url = f"http://127.0.0.1:{port}/slack/events"
        body = ASHA.command(
            "/resend", "77", response_url=emulator.new_response_url(), trigger_id=emulator.new_trigger_id()
        )
        async with httpx.AsyncClient() as http:
            assert (await http.post(url, content=body, headers=sign(body, "wrong"))).status_code == 401
            assert (await http.post(url, content=body, headers=sign(body, SECRET))).status_code == 200
        await emulator.wait_for("response_url")
        assert seen["command"]["text"] == "77"
    finally:
        await runner.cleanup()


def test_message_action_and_app_home_opened_pass_the_bots_own_models() -> None:
    from urllib.parse import parse_qs

    from bot.devtools import slack_payloads as built
    from handlers.middleware.payloads import EventCallback, MessageAction, decode, parse

    message = {"type": "message", "user": "U0OTHER01", "ts": "1764200000.000100", "text": "id 1746061653596"}
    body = built.message_action(message, callback_id="resend_from_message", user_id="U0ASHA001", user_name="asha",
                                channel_id="C0OPS0001", response_url="https://hooks.slack.com/x", trigger_id="1.2.3")
    assert "payload" in parse_qs(body)
    action = parse(decode(body.encode(), built.FORM_CONTENT_TYPE))
    assert isinstance(action, MessageAction) and action.callback_id == "resend_from_message"
    assert action.message.text == "id 1746061653596" and action.channel.id == "C0OPS0001"
    event = parse(decode(built.app_home_opened("U0ASHA001").encode(), "application/json"))
    assert isinstance(event, EventCallback) and event.event.type == "app_home_opened"
    assert event.event.user == "U0ASHA001" and event.event.tab == "home"
