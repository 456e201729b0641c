"""A denial names what the person sent as they wrote it: their words cannot ping a channel or forge a link."""

from __future__ import annotations

from handlers.middleware.authorize import ANY, Routes, denial_text, resolve
from tests.handlers.hostile import assert_inert

ROUTES = Routes(commands={"/campaign": {"pause": "campaign.pause"}, "/resend": {ANY: "resend"}})


def test_an_unknown_sub_command_is_named_escaped() -> None:
    text = denial_text(resolve({"command": "/campaign", "text": "<!channel> now"}, ROUTES), None)
    assert text.startswith(":no_entry: `/campaign &lt;!channel&gt;` is not something commops knows")
    assert_inert(text)


def test_an_unknown_command_or_button_is_named_escaped() -> None:
    assert_inert(denial_text(resolve({"command": "/x<!here>", "text": ""}, ROUTES), None))
    button = {"type": "block_actions", "actions": [{"action_id": "<https://evil.example|go> & co"}]}
    text = denial_text(resolve(button, ROUTES), None)
    assert "(`button &lt;https://evil.example|go&gt; &amp; co`)" in assert_inert(text)
