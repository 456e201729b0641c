"""The Slack edge over real HTTP, as an attacker or a confused Slack would meet it: unsigned requests get 401 and
nothing else; signed ones that cannot be understood get 400 and one log line; replies go only to Slack; other
workspaces and apps get 403; Socket Mode requests pass the same checks."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.devtools import slack_payloads as payloads
from bot.serving import socket_mode_listener
from tests.e2e.conftest import ALICE, CHANNEL, SIGNING_SECRET, Bot
from tests.e2e.edge_support import (
    SEED,
    assert_nothing_happened,
    attacker_sink,
    click_payload,
    command_body,
    form_payload,
    signature_over,
    signed,
)

FORM, JSON_TYPE = payloads.FORM_CONTENT_TYPE, "application/json"


def edge_lines(caplog: pytest.LogCaptureFixture, level: int = logging.WARNING) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "commops.edge" and r.levelno >= level and r.getMessage().startswith("refused")]


def assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert "Traceback" not in caplog.text and "nhandled" not in caplog.text


@pytest.fixture(autouse=True)
def _logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="commops")
    caplog.set_level(logging.INFO, logger="slack_bolt")


# --- 1. not signed: 401 and nothing else ---------------------------------------------------------------------------

TIMESTAMPS = {  # the header's text ({now} is now, in seconds); each request is signed over the text it carries
    "missing": None, "empty": "", "not a number": "12ab", "negative": "-1", "huge": "9" * 30,
    "a float": "{now}.5", "6 minutes old": "{old}", "6 minutes ahead": "{ahead}", "plus sign": "+{now}",
}


@pytest.mark.parametrize("case", list(TIMESTAMPS))
async def test_a_bad_timestamp_is_401_and_nothing_else(bot: Bot, caplog: pytest.LogCaptureFixture, case: str) -> None:
    raw = command_body(bot, str(SEED)).encode()
    now = int(time.time())
    headers = signed(raw)
    template = TIMESTAMPS[case]
    if template is None:
        del headers["X-Slack-Request-Timestamp"]
    else:
        timestamp = template.format(now=now, old=now - 360, ahead=now + 360)
        headers["X-Slack-Request-Timestamp"] = timestamp
        headers["X-Slack-Signature"] = signature_over(raw, timestamp)
    response = await bot.http.post(f"{bot.url}/slack/events", content=raw, headers=headers)
    assert response.status_code == 401
    await assert_nothing_happened(bot)
    assert len(edge_lines(caplog, logging.INFO)) == 1
    assert_no_traceback(caplog)


def _signatures(raw: bytes) -> dict[str, list[tuple[str, str]]]:
    good = signed(raw)
    digest = good["X-Slack-Signature"].removeprefix("v0=")
    base = [("X-Slack-Request-Timestamp", good["X-Slack-Request-Timestamp"]), ("Content-Type", FORM)]
    return {
        "missing": base,
        "empty": [*base, ("X-Slack-Signature", "")],
        "garbage": [*base, ("X-Slack-Signature", "garbage")],
        "too short": [*base, ("X-Slack-Signature", f"v0={digest[:40]}")],
        "not hex": [*base, ("X-Slack-Signature", "v0=" + "z" * 64)],
        "another version": [*base, ("X-Slack-Signature", f"v1={digest}")],
        "another secret": [*base, ("X-Slack-Signature", signed(raw, secret="guess")["X-Slack-Signature"])],
        "another body": [*base, ("X-Slack-Signature", signed(raw + b"0")["X-Slack-Signature"])],
        "given twice": [*base, ("X-Slack-Signature", good["X-Slack-Signature"]), ("X-Slack-Signature", "v0=0")],
    }


@pytest.mark.parametrize("case", list(_signatures(b"")))
async def test_a_bad_signature_is_401_and_nothing_else(bot: Bot, caplog: pytest.LogCaptureFixture, case: str) -> None:
    raw = command_body(bot, str(SEED)).encode()
    response = await bot.http.post(f"{bot.url}/slack/events", content=raw, headers=_signatures(raw)[case])
    assert response.status_code == 401
    await assert_nothing_happened(bot)
    assert_no_traceback(caplog)


async def test_bytes_that_are_not_utf8_are_401_unsigned_and_400_signed(bot: Bot,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    raw = b"command=/resend&text=\xff\xfe&user_id=" + ALICE[0].encode()
    unsigned = await bot.http.post(f"{bot.url}/slack/events", content=raw, headers={"Content-Type": FORM})
    assert unsigned.status_code == 401
    assert (await bot.http.post(f"{bot.url}/slack/events", content=raw, headers=signed(raw))).status_code == 400
    await assert_nothing_happened(bot)
    assert edge_lines(caplog) == ["refused a request (400): a body that is not UTF-8"]
    assert_no_traceback(caplog)


async def test_the_error_reply_goes_only_to_verified_requests(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    """Bolt's error handler says ":boom:" to the user of a signed request that fails; a request that is not
    signed never gets that far, whatever it would have made fail."""

    async def explode(body: dict[str, Any], next_: Any) -> None:
        if body.get("text") == "explode":
            raise RuntimeError("a failure inside the bot")
        await next_()

    bot.app.use(explode)
    raw = command_body(bot, "explode").encode()
    headers = {**signed(raw), "X-Slack-Request-Timestamp": "soon"}
    assert (await bot.http.post(f"{bot.url}/slack/events", content=raw, headers=headers)).status_code == 401
    await assert_nothing_happened(bot)
    assert (await bot.post(command_body(bot, "explode"))).status_code == 500
    boom = await bot.reply()
    assert "Something went wrong" in boom.args["text"]


# --- 2. replies only to Slack ------------------------------------------------------------------------------------


async def test_a_response_url_that_is_not_slacks_is_refused_before_anything_runs(
        bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    async with attacker_sink() as sink:
        elsewhere = [f"{sink.url}/hook", "https://hooks.slack.com.evil.example/x", "http://hooks.slack.com/x",
                     "https://evil.example@hooks.slack.com/x", "https://hooks.slack.com:8443/x",
                     f"{bot.slack.api_url.replace('127.0.0.1', 'localhost')}x", "javascript:alert(1)",
                     "https://hooks.slack.com\\@evil.example/x", "//evil.example/x"]
        for url in elsewhere:
            assert (await bot.post(command_body(bot, str(SEED), response_url=url))).status_code == 400, url
        click = click_payload(bot, response_url=f"{sink.url}/click")
        assert (await bot.post(form_payload(click).decode())).status_code == 400
        submission = json.loads(dict(parse_qsl(payloads.view_submission(
            {"id": "V0FORM001", "callback_id": "comm.upsert", "blocks": []}, user_id=ALICE[0], user_name=ALICE[1],
            trigger_id=bot.slack.new_trigger_id())))["payload"])
        submission["response_urls"] = [{"block_id": "b", "action_id": "a", "channel_id": CHANNEL,
                                        "response_url": f"{sink.url}/modal"}]
        assert (await bot.post(form_payload(submission).decode())).status_code == 400
        await assert_nothing_happened(bot)
        assert sink.hits == []
    assert len(edge_lines(caplog)) == len(elsewhere) + 2
    assert_no_traceback(caplog)


# --- 3. signed but not understood: 400 and one log line ------------------------------------------------------------


def _spoiled(bot: Bot) -> dict[str, tuple[bytes, str]]:
    click = click_payload(bot)
    command = dict(parse_qsl(command_body(bot, "help"), keep_blank_values=True))

    def click_with(**changes: Any) -> tuple[bytes, str]:
        return form_payload({**click, **changes}), FORM

    def with_view(**changes: Any) -> tuple[bytes, str]:
        view = {"id": "V0FORM001", "callback_id": "comm.upsert", "private_metadata": "", "blocks": [],
                "state": {"values": {}}, **changes}
        return click_with(view=view)

    return {
        "a %-escape that is not UTF-8": (b"command=%2Fresend&text=%ff%fe", FORM),
        "a field without a value": (b"command=/resend&text", FORM),
        "a field given twice": (urlencode([*command.items(), ("text", "42")]).encode(), FORM),
        "no known shape": (b"hello=world", FORM),
        "a payload that is not JSON": (b"payload=%7Bnot+json", FORM),
        "a payload that is a list": (b"payload=%5B1%2C2%5D", FORM),
        "a payload beside other fields": (form_payload(click) + b"&x=1", FORM),
        "a truncated JSON body": (b'{"type": "event_callback", "team_id": "T0001"', JSON_TYPE),
        "a JSON body that is a list": (b"[1, 2]", JSON_TYPE),
        "NaN in JSON": (urlencode({"payload": json.dumps({**click, "x": float("nan")})}).encode(), FORM),
        "deeply nested JSON": (b'{"type": "block_actions", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}", JSON_TYPE),
        "an unknown type": (b'{"type": "nonsense", "team_id": "T0001"}', JSON_TYPE),
        "a content type Slack never sends": (b"command=/resend&text=42", "text/plain"),
        "the user as a string": click_with(user=ALICE[0]),
        "the team as a string": click_with(team="T0001"),
        "the channel as a list": click_with(channel=[CHANNEL]),
        "no actions": click_with(actions=[]),
        "two actions": click_with(actions=[click["actions"][0], click["actions"][0]]),
        "a button value that is a number": click_with(actions=[{**click["actions"][0], "value": 12345}]),
        "a user id that is not Slack's": click_with(user={"id": "<!channel>", "username": "x"}),
        "command text that is a dict": (json.dumps({**command, "text": {"a": 1}}).encode(), JSON_TYPE),
        "a command that also has a type": (urlencode({**command, "type": "block_actions"}).encode(), FORM),
        "garbage view state": with_view(state={"values": "junk"}),
        "private_metadata that is a number": with_view(private_metadata=42),
        "a view without an id": with_view(id=None),
        "an event without a type": (json.dumps({"type": "event_callback", "team_id": "T0001", "api_app_id": "A0COMMOPS",
                                                "event_id": "Ev1", "event_time": 1, "event": {"user": 5}}).encode(),
                                    JSON_TYPE),
    }


SPOILED = [
    "a %-escape that is not UTF-8", "a field without a value", "a field given twice", "no known shape",
    "a payload that is not JSON", "a payload that is a list", "a payload beside other fields",
    "a truncated JSON body", "a JSON body that is a list", "NaN in JSON", "deeply nested JSON", "an unknown type",
    "a content type Slack never sends", "the user as a string", "the team as a string", "the channel as a list",
    "no actions", "two actions", "a button value that is a number",
    "a user id that is not Slack's", "command text that is a dict", "a command that also has a type",
    "garbage view state", "private_metadata that is a number", "a view without an id", "an event without a type",
]


@pytest.mark.parametrize("case", SPOILED)
async def test_a_signed_body_that_is_not_understood_is_400_with_one_log_line(
        bot: Bot, caplog: pytest.LogCaptureFixture, case: str) -> None:
    spoiled = _spoiled(bot)
    assert sorted(spoiled) == sorted(SPOILED)
    raw, content_type = spoiled[case]
    headers = signed(raw, content_type=content_type)
    response = await bot.http.post(f"{bot.url}/slack/events", content=raw, headers=headers)
    assert response.status_code == 400
    await assert_nothing_happened(bot)
    assert len(edge_lines(caplog)) == 1, edge_lines(caplog)
    assert_no_traceback(caplog)


async def test_command_text_holding_the_word_payload_is_still_a_command(bot: Bot) -> None:
    """Bolt takes any form that contains "payload" for an interactive one; the edge reads forms properly."""
    response = await bot.command("/resend", "payload")
    assert response.status_code == 200 and "“payload” is not a message id" in response.text


async def test_unicode_spaces_separate_words(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    response = await bot.command("/campaign", "\u3000")
    assert response.status_code == 200 and "Usage" in response.text
    opened = await bot.command("/comm", "upsert\u00a02750\u30002996")
    assert opened.status_code == 200 and opened.text == ""  # the form opens, rather than the usage
    assert (await bot.slack.wait_for("views.open")).ok
    await bot.settle()
    assert not bot.slack.calls("response_url", include_failed=True)  # no late ":boom:" after the usage
    assert_no_traceback(caplog)


async def test_what_no_family_serves_is_answered_empty_not_left_unhandled(
        bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    """A closed form, options for a menu that loads none, a shortcut named with spaces only: answered, and
    nothing in the logs but Slack's ordinary traffic."""
    base = {"user": {"id": ALICE[0], "username": ALICE[1], "team_id": payloads.TEAM_ID},
            "team": {"id": payloads.TEAM_ID}, "api_app_id": payloads.API_APP_ID, "trigger_id": "1.2.3"}
    closed = payloads.view_closed({"id": "V0FORM001", "type": "modal", "callback_id": "comm.upsert"},
                                  user_id=ALICE[0], user_name=ALICE[1])
    assert (await bot.post(closed)).status_code == 200
    options = await bot.post(form_payload({**base, "type": "block_suggestion", "action_id": "resend.anyway",
                                           "value": "x"}).decode())
    assert options.status_code == 200 and options.json() == {"options": []}
    shortcut = await bot.post(form_payload({**base, "type": "shortcut", "callback_id": "\u3000"}).decode())
    assert shortcut.status_code == 200
    await bot.settle()
    assert_no_traceback(caplog)


# --- 4. only this workspace and this app ----------------------------------------------------------------------------


async def test_requests_for_another_workspace_or_app_are_403_and_run_nothing(
        bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    assert (await bot.post(command_body(bot, str(SEED), team_id="T0OTHER01"))).status_code == 403
    click = click_payload(bot)
    for spoiled in ({**click, "api_app_id": "A0OTHER01"}, {**click, "team": {"id": "T0OTHER01"}}):
        assert (await bot.post(form_payload(spoiled).decode())).status_code == 403
    await assert_nothing_happened(bot)
    assert len(edge_lines(caplog)) == 3
    assert_no_traceback(caplog)
    assert (await bot.command("/resend", "help")).status_code == 200


class SocketClient:
    """Stands for slack_sdk's Socket Mode client: collects the envelope answers."""

    def __init__(self) -> None:
        self.answers: list[SocketModeResponse] = []
        self.logger = logging.getLogger("tests.socket_mode")

    async def send_socket_mode_response(self, response: SocketModeResponse) -> None:
        self.answers.append(response)


async def test_socket_mode_envelopes_pass_the_same_checks(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    """Socket Mode has no signature (Slack's socket is authenticated) and no status: a refused envelope runs
    nothing and is answered empty, so Slack does not send it again."""
    handle, client = socket_mode_listener(bot.app), SocketClient()

    async def envelope(payload: Any, kind: str = "slash_commands") -> SocketModeResponse:
        request = SocketModeRequest(type=kind, envelope_id=f"env{len(client.answers)}", payload=payload,
                                    accepts_response_payload=True)
        await handle(client, request)
        assert client.answers[-1].envelope_id == request.envelope_id
        return client.answers[-1]

    other = dict(parse_qsl(command_body(bot, str(SEED), team_id="T0OTHER01"), keep_blank_values=True))
    assert (await envelope(other)).payload is None
    assert (await envelope({**click_payload(bot), "actions": []}, "interactive")).payload is None
    assert (await envelope({**other, "team_id": payloads.TEAM_ID, "user_id": 5})).payload is None
    await assert_nothing_happened(bot)
    assert len(edge_lines(caplog)) == 3
    assert_no_traceback(caplog)
    usage = dict(parse_qsl(command_body(bot, "help"), keep_blank_values=True))
    answer = await envelope(usage)
    assert answer.payload is not None and "Usage" in answer.payload["text"]


async def test_a_second_spelling_of_a_signature_or_timestamp_is_refused(bot: Bot) -> None:
    """An uppercase signature, or a timestamp with a leading zero, would otherwise pass the replay guard as a new
    request: only Slack's own spelling is admitted."""
    body = payloads.slash_command("/resend", "help", user_id=ALICE[0], user_name=ALICE[1], channel_id=CHANNEL,
                                  response_url=bot.slack.new_response_url(channel_id=CHANNEL, user_id=ALICE[0]),
                                  trigger_id=bot.slack.new_trigger_id())
    headers = payloads.sign(body, SIGNING_SECRET)
    upper = {**headers, "X-Slack-Signature": headers["X-Slack-Signature"].upper()}
    assert (await bot.post(body, headers=upper)).status_code == 401
    mixed = {**headers, "X-Slack-Signature": "v0=" + headers["X-Slack-Signature"][3:].upper()}
    assert (await bot.post(body, headers=mixed)).status_code == 401
    stamp = "0" + headers["X-Slack-Request-Timestamp"]  # correctly signed, in a second spelling
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    padded = {**headers, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}
    assert (await bot.post(body, headers=padded)).status_code == 401
    assert (await bot.post(body, headers=headers)).status_code == 200
