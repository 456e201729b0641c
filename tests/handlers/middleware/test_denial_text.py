"""A denial names what the person sent as they wrote it: their words cannot ping a channel or forge a link."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from bot.devtools import slack_payloads as payloads
from handlers.middleware.authorize import ANY, Routes, denial_text, resolve
from handlers.middleware.payloads import SlackPayload, parse
from tests.handlers.hostile import assert_inert

ROUTES = Routes(commands={"/campaign": {"pause": "campaign.pause"}, "/resend": {ANY: "resend"}})


def command(name: str, text: str) -> SlackPayload:
    body = payloads.slash_command(name, text, user_id="U0ALICE01", user_name="alice", channel_id="C0OPS0001",
                                  response_url="https://hooks.slack.com/commands/T0001/1/x", trigger_id="1.2.3")
    return parse(dict(parse_qsl(body, keep_blank_values=True)))


def button(action_id: str) -> SlackPayload:
    message = {"ts": "1.2", "blocks": [{"type": "actions", "block_id": "b", "elements": [
        {"type": "button", "action_id": action_id, "value": "1", "text": {"type": "plain_text", "text": "Go"}}]}]}
    body = payloads.block_actions(payloads.button_action(message, action_id=action_id), user_id="U0ALICE01",
                                  user_name="alice", channel_id="C0OPS0001", message=message, trigger_id="1.2.3",
                                  response_url="https://hooks.slack.com/actions/T0001/1/x")
    return parse(json.loads(dict(parse_qsl(body))["payload"]))


def test_an_unknown_sub_command_is_named_escaped() -> None:
    text = denial_text(resolve(command("/campaign", "<!channel> now"), ROUTES), None)
    assert text.startswith(":no_entry: `/campaign &lt;!channel&gt;` is not something commops knows")
    assert_inert(text)


def test_an_unknown_command_or_button_is_named_escaped() -> None:
    assert_inert(denial_text(resolve(command("/x<!here>", ""), ROUTES), None))
    text = denial_text(resolve(button("<https://evil.example|go> & co"), ROUTES), None)
    assert "(`button &lt;https://evil.example|go&gt; &amp; co`)" in assert_inert(text)
