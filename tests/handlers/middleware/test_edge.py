"""The edge's own rules, without a server: signatures, typed bodies, where replies may go, and who the bot is."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qsl

import pytest

from bot.devtools import slack_payloads as payloads
from handlers.middleware import signature
from handlers.middleware.edge import IDENTITY_RETRY, Admitted, Edge, Identity, Refusal, reply_origins
from handlers.middleware.payloads import (
    BlockActions,
    NotUnderstood,
    SlashCommand,
    ViewClosed,
    ViewSubmission,
    decode,
    first_word,
    parse,
)

SECRET = "unit-secret"
HOOK = "https://hooks.slack.com/commands/T0001/1/abc"
VIEW = {"id": "V0FORM001", "type": "modal", "callback_id": "comm.upsert", "blocks": []}


def command(text: str = "42", **changes: str) -> dict[str, str]:
    body = dict(parse_qsl(payloads.slash_command("/resend", text, user_id="U0ALICE01", user_name="alice",
                                                 channel_id="C0OPS0001", response_url=HOOK, trigger_id="1.2.3"),
                          keep_blank_values=True))
    return {**body, **changes}


def headers(raw: bytes, timestamp: str = "1700000000") -> list[tuple[str, str]]:
    digest = hmac.new(SECRET.encode(), f"v0:{timestamp}:".encode() + raw, hashlib.sha256).hexdigest()
    return [("X-Slack-Request-Timestamp", timestamp), ("X-Slack-Signature", f"v0={digest}")]


class AuthTest:
    """Stands for AsyncWebClient where the edge uses it: auth.test answers (or failures), in turn."""

    def __init__(self, *replies: dict[str, Any] | Exception) -> None:
        self.replies = list(replies)
        self.calls = 0

    async def auth_test(self) -> dict[str, Any]:
        self.calls += 1
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


def edge(*replies: dict[str, Any] | Exception, clock: Any = None, api: str = "http://127.0.0.1:9/api/") -> Edge:
    client = AuthTest(*(replies or ({"team_id": "T0001", "app_id": "A0COMMOPS"},)))
    identity = Identity(client, clock=clock) if clock else Identity(client)  # type: ignore[arg-type]
    return Edge(signing_secret=SECRET, identity=identity, reply_to=reply_origins(api), clock=lambda: 1700000000)


# --- signatures -----------------------------------------------------------------------------------------------------


def test_the_signature_is_over_the_raw_bytes_and_the_timestamp_text() -> None:
    raw = "command=/resend&text=café".encode()  # signed as bytes, before any decoding
    assert signature.check(SECRET, headers(raw), raw, clock=lambda: 1700000000) is None
    assert signature.check(SECRET, headers(raw), raw, clock=lambda: 1700000301) == "a timestamp more than 5 minutes off"
    assert signature.check(SECRET, headers(raw), raw + b" ", clock=lambda: 1700000000) == "a wrong signature"
    fullwidth = "１７００００００００"  # digits int() would read, which Slack never sends
    assert signature.check(SECRET, headers(raw, fullwidth), raw, clock=lambda: 1700000000) == "a malformed timestamp"
    assert signature.check(SECRET, [*headers(raw), ("x-slack-signature", "v0=1")], raw) == "a repeated signature header"


# --- bodies ---------------------------------------------------------------------------------------------------------


def test_each_kind_slack_sends_parses_to_its_model() -> None:
    assert isinstance(parse(command()), SlashCommand)
    message = {"ts": "1.2", "blocks": [{"type": "actions", "block_id": "b", "elements": [
        {"type": "button", "action_id": "go", "value": "1", "text": {"type": "plain_text", "text": "Go"}}]}]}
    click = payloads.block_actions(payloads.button_action(message, action_id="go"), user_id="U0ALICE01",
                                   user_name="alice", channel_id="C0OPS0001", message=message, response_url=HOOK,
                                   trigger_id="1.2.3")
    parsed = parse(decode(click.encode(), payloads.FORM_CONTENT_TYPE))
    assert isinstance(parsed, BlockActions) and parsed.action.value == "1" and parsed.person == "alice"
    submitted = payloads.view_submission(VIEW, user_id="U0ALICE01", user_name="alice", trigger_id="1.2.3")
    assert isinstance(parse(decode(submitted.encode(), None)), ViewSubmission)
    closed = payloads.view_closed(VIEW, user_id="U0ALICE01", user_name="alice")
    assert isinstance(parse(decode(closed.encode(), None)), ViewClosed)


def test_a_form_is_read_as_a_form_whatever_its_text_says() -> None:
    """Bolt would take a form mentioning "payload" for an interactive one, and read nothing."""
    body = decode(payloads.slash_command("/resend", "payload", user_id="U0ALICE01", user_name="alice",
                                         channel_id="C0OPS0001", response_url=HOOK, trigger_id="1").encode(), None)
    assert body["text"] == "payload"
    assert decode(b'{"type": "url_verification", "challenge": "c"}', payloads.FORM_CONTENT_TYPE)["challenge"] == "c"


@pytest.mark.parametrize(("raw", "reason"), [
    (b"text=%ff", "a malformed form"), (b"a=1&a=2", "a form field given twice"), (b"", "an empty body"),
    (b"payload=" + b"%5B" * 40 + b"%5D" * 40, "the payload is not a JSON object"),
    (b'{"x": ' + b"[" * 40 + b"]" * 40 + b"}", "the body nests deeper than 32 levels"),
    (b'{"x": Infinity}', "JSON with Infinity"),
])
def test_bodies_slack_never_sends_are_not_understood(raw: bytes, reason: str) -> None:
    with pytest.raises(NotUnderstood) as refused:
        decode(raw, None)
    assert refused.value.reason == reason


def test_a_refusal_names_the_field_but_never_quotes_the_body() -> None:
    with pytest.raises(NotUnderstood) as refused:
        parse(command(user_id="<!channel>\nforged log line"))
    assert refused.value.reason == "a SlashCommand with user_id: String should match pattern '^[A-Z0-9]{1,40}$'"


@pytest.mark.parametrize("key", ["event", "view", "response_urls"])
def test_objects_bolt_reads_without_looking_may_not_be_null(key: str) -> None:
    submitted = json.loads(dict(parse_qsl(payloads.view_submission(
        VIEW, user_id="U0ALICE01", user_name="alice", trigger_id="1.2.3")))["payload"])
    with pytest.raises(NotUnderstood, match=f"{key} is null"):
        parse({**submitted, key: None})


def test_a_click_comes_with_a_response_url_or_its_view() -> None:
    message = {"ts": "1.2", "blocks": [{"type": "actions", "block_id": "b", "elements": [
        {"type": "button", "action_id": "go", "value": "1", "text": {"type": "plain_text", "text": "Go"}}]}]}
    click = json.loads(dict(parse_qsl(payloads.block_actions(
        payloads.button_action(message, action_id="go"), user_id="U0ALICE01", user_name="alice",
        channel_id="C0OPS0001", message=message, response_url=HOOK, trigger_id="1.2.3")))["payload"])
    assert isinstance(parse(click), BlockActions)
    assert isinstance(parse({**{k: v for k, v in click.items() if k != "response_url"}, "view": VIEW}), BlockActions)
    with pytest.raises(NotUnderstood) as refused:
        parse({k: v for k, v in click.items() if k != "response_url"})
    assert refused.value.reason == "a BlockActions: a click with neither a response_url nor a view"


def test_every_unicode_space_separates_words() -> None:
    assert first_word("upsert\u00a02750\u30002996 ") == ("upsert", "2750\u30002996")
    assert first_word("\u3000") == ("", "") and first_word("help") == ("help", "")


# --- where replies go, and who the bot is ---------------------------------------------------------------------------


async def test_replies_may_go_only_to_slack_and_the_configured_api_host() -> None:
    checked = edge()
    for url in (HOOK, "https://hooks.slack.com:443/x", "http://127.0.0.1:9/response/abc"):
        assert isinstance(await checked.admit_body(command(response_url=url)), Admitted), url
    for url in ("http://hooks.slack.com/x", "https://hooks.slack.com.evil.example/x", "https://x@hooks.slack.com/",
                "https://hooks.slack.com:99999/x", "http://127.0.0.1:10/response/abc", "https://hooks.slack.com/ x",
                "HTTPS://hooks.slack.com\\x", "file:///etc/passwd", ""):
        verdict = await checked.admit_body(command(response_url=url))
        assert verdict == Refusal(400, "a command whose response URL is not Slack's"), url


async def test_a_signed_request_passes_only_for_the_bots_workspace_and_app() -> None:
    checked = edge()
    raw = "&".join(f"{k}={v}" for k, v in command().items()).replace("/resend", "%2Fresend").encode()
    assert isinstance(await checked.admit(raw, headers(raw)), Admitted)
    assert (await checked.admit_body(command(team_id="T0OTHER01"))).status == 403  # type: ignore[union-attr]
    assert (await checked.admit_body(command(api_app_id="A0OTHER01"))).status == 403  # type: ignore[union-attr]
    challenge = {"type": "url_verification", "challenge": "abc", "token": "t"}  # Slack's own, for no workspace
    assert isinstance(await checked.admit_body(challenge), Admitted)


async def test_without_an_app_id_from_auth_test_the_workspace_alone_is_checked() -> None:
    checked = edge({"team_id": "T0001"})
    assert isinstance(await checked.admit_body(command(api_app_id="A0OTHER01")), Admitted)
    assert (await checked.admit_body(command(team_id="T0OTHER01"))).status == 403  # type: ignore[union-attr]


async def test_a_failed_auth_test_is_tried_again_after_a_pause_and_answers_503_meanwhile() -> None:
    now = [0.0]
    checked = edge(ConnectionError("no route"), {"team_id": "T0001", "app_id": "A0COMMOPS"}, clock=lambda: now[0])
    client = checked.identity._client  # type: ignore[attr-defined]
    assert (await checked.admit_body(command())).status == 503  # type: ignore[union-attr]
    now[0] = IDENTITY_RETRY - 0.1
    assert (await checked.admit_body(command())).status == 503  # type: ignore[union-attr]
    assert client.calls == 1  # not hammering Slack
    now[0] = IDENTITY_RETRY + 0.1
    assert isinstance(await checked.admit_body(command()), Admitted)
    assert isinstance(await checked.admit_body(json.loads(json.dumps(command()))), Admitted) and client.calls == 2
