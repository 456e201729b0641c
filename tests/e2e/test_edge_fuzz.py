"""Thousands of hostile requests (fixed seed) through the real app over HTTP on 127.0.0.1: unsigned, badly signed,
and correctly signed bodies that are truncated, mistyped, nested, huge or full of junk.

What must hold: no 5xx; no traceback, error or "unhandled" in the logs; no vendor call (none of the signed
commands is a valid one, so none may reach Capillary or Comm); no reply to the response URL of a request that was
not correctly signed, and nothing ever posted to an attacker's URL; and a normal ``/resend help`` still works.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.devtools import slack_payloads as payloads
from tests.e2e.conftest import ALICE, CHANNEL, Bot
from tests.e2e.edge_support import SEED, attacker_sink, click_payload, command_body, signed

REQUESTS = 3000
SEED_ENV = "COMMOPS_FUZZ_SEED"  # another seed to explore with; the suite runs 1234
CONCURRENCY = 8
MAX_BODY = 1024 * 1024
BUTTON_VALUES = ["0@1", "99999999999999999999@1", "-1", "`", "<!channel>", "", f"{SEED}@x", f"{SEED}@1,{SEED}@x",
                 ",", "@", "1@1@1", "\u3000", "%ff", "١@١"]
PIECES = ["", " ", "\u3000", "\u00a0", "\t", "\n", "<!channel>", "<!here|here>", "<@U0ALICE01>", "`", "```",
          "&amp;", "<https://evil.example|click>", "0@1", "-1", "99999999999999999999", "1e9", "٣", "²", "\x00",
          "status", "pause", "resume", "stop", "list", "upsert", "audit", "help", "payload", "%ff", "…", "🙂",
          "Diwali", "for", "until", "type=START", 'message="', "\\", "'", "--help", "*", "_x_", "~", "\u200b"]
KEYS = ["user", "team", "channel", "actions", "view", "response_url", "api_app_id", "trigger_id", "message",
        "state", "type", "container", "enterprise", "authorizations", "event", "response_urls", "user_id", "command"]


@dataclass
class Shot:
    kind: str  # unsigned | badly signed | signed hostile | signed command
    raw: bytes
    headers: dict[str, str]
    reply_url: str | None  # the response URL in the body, when we minted one for it


class Fuzzer:
    def __init__(self, bot: Bot, sink_url: str, seed: int = 1234) -> None:
        self.bot = bot
        self.sink = sink_url
        self.rng = random.Random(seed)

    # --- junk ---------------------------------------------------------------------------------------------------

    def text(self, size: int | None = None) -> str:
        rng = self.rng
        words = [rng.choice(PIECES) for _ in range(rng.randint(0, 8))]
        text = rng.choice([" ", "\u3000", "\u00a0", ""]).join(words)
        if size is not None:
            text = (text or "x") * (size // max(1, len(text or "x")) + 1)
        return text[:size] if size is not None else text

    def value(self, depth: int = 0) -> Any:
        rng = self.rng
        choice = rng.randrange(10 if depth < 4 else 6)
        if choice == 0:
            return None
        if choice == 1:
            return rng.choice([True, False])
        if choice == 2:
            return rng.choice([0, -1, 2**70, 12345, 3.5])
        if choice in (3, 4, 5):
            return self.text()
        if choice in (6, 7):
            return [self.value(depth + 1) for _ in range(rng.randint(0, 3))]
        return {rng.choice([*KEYS, "id", "value", "x"]): self.value(depth + 1) for _ in range(rng.randint(0, 3))}

    def nested(self) -> str:
        """A marker that :meth:`deepen` turns into lists nested this deep (too deep for json.dumps to write)."""
        return f"@@deep{self.rng.choice([10, 40, 200, 5000])}@@"

    @staticmethod
    def deepen(text: str) -> str:
        return re.sub(r'"@@deep(\d+)@@"', lambda found: "[" * int(found[1]) + "]" * int(found[1]), text)

    # --- bodies -------------------------------------------------------------------------------------------------

    def reply_url(self) -> str:
        if self.rng.random() < 0.2:
            return f"{self.sink}/{self.rng.randrange(10**6)}"
        return self.bot.slack.new_response_url(channel_id=CHANNEL, user_id=ALICE[0])

    def command_form(self, url: str, *, slack_could_send: bool = False) -> dict[str, str]:
        names = ["/resend", "/campaign", "/comm", "/comm", "/other"]
        command = self.rng.choice(names if slack_could_send else [*names, "resend", "/", "/a b"])
        body = command_body(self.bot, "help", command="/resend", response_url=url)
        form = dict(parse_qsl(body, keep_blank_values=True))
        form.update(command=command, text=self.text())
        return form

    def interactive(self, url: str) -> dict[str, Any]:
        rng, bot = self.rng, self.bot
        kind = rng.choice(["click", "click", "submission", "closed", "suggestion", "shortcut", "event"])
        if kind == "click":
            return click_payload(bot, value=rng.choice(BUTTON_VALUES), response_url=url)
        view = {"id": "V0FORM0001", "type": "modal", "callback_id": rng.choice(["comm.upsert", "unknown", ""]),
                "private_metadata": rng.choice(["", "{", '{"channel_id": 5}', json.dumps({"channel_id": CHANNEL}),
                                                self.text(), '{"group_id": "x"}']),
                "blocks": [], "state": {"values": {}}}
        user = {"id": ALICE[0], "username": ALICE[1], "team_id": payloads.TEAM_ID}
        base = {"user": user, "team": {"id": payloads.TEAM_ID}, "api_app_id": payloads.API_APP_ID,
                "trigger_id": bot.slack.new_trigger_id()}
        if kind == "submission":
            values = {"b": {"a": {"type": "plain_text_input", "value": self.text()}}}
            return {**base, "type": "view_submission", "view": {**view, "state": {"values": values}},
                    "response_urls": [{"response_url": url}]}
        if kind == "closed":
            return {**base, "type": "view_closed", "view": view}
        if kind == "suggestion":
            return {**base, "type": "block_suggestion", "action_id": rng.choice(["x", "resend.anyway", "comm.type"]),
                    "value": self.text()}
        if kind == "shortcut":
            return {**base, "type": "shortcut", "callback_id": self.text()[:50] or "s"}
        return {"type": "event_callback", "team_id": payloads.TEAM_ID, "api_app_id": payloads.API_APP_ID,
                "event_id": "Ev1", "event_time": 1, "event": {"type": "app_mention", "user": ALICE[0],
                                                             "channel": CHANNEL, "text": self.text()}}

    def spoil(self, body: dict[str, Any]) -> None:
        rng = self.rng
        for _ in range(rng.randint(1, 3)):
            move = rng.randrange(9)
            if move == 0:
                body[rng.choice(KEYS)] = self.value()
            elif move == 1 and body:
                body.pop(rng.choice(list(body)))
            elif move == 2:
                body["actions"] = rng.choice([[], [{"action_id": "resend.anyway", "value": "1@1"}] * 2])
            elif move == 3 and isinstance(body.get("actions"), list) and body["actions"] \
                    and isinstance(body["actions"][0], dict):
                body["actions"][0] = {**body["actions"][0], "value": rng.choice([*BUTTON_VALUES, 5, None, [1]])}
            elif move == 4:
                body["view"] = {"id": "V0FORM0001", "type": "modal", "callback_id": "comm.upsert",
                                "state": self.value(), "private_metadata": rng.choice([self.text(), 42, self.value()])}
            elif move == 5:
                body[rng.choice(["user", "team", "channel"])] = rng.choice(["U0X", ["U0X"], 5, {"id": 5}, None])
            elif move == 6:
                body[rng.choice(["text", "x", "value"])] = self.text(rng.choice([5_000, 300_000, MAX_BODY + 10]))
            elif move == 7:
                body["x"] = self.nested()
            else:
                body["team"] = {"id": "T0OTHER01"}
                body["team_id"] = "T0OTHER01"

    def hostile(self, url: str) -> tuple[bytes, str]:
        """A body Slack never sends (or, now and then, a command Slack could send with junk text)."""
        rng = self.rng
        shape = rng.randrange(10)
        if shape <= 2:  # a form: a command, spoiled or with junk text
            form: dict[str, Any] = self.command_form(url)
            if shape == 0:
                self.spoil(form)
            pairs = [(key, value if isinstance(value, str) else self.deepen(json.dumps(value)))
                     for key, value in form.items()]
            if rng.random() < 0.1:
                pairs.append(("text", "again"))
            raw = urlencode(pairs).encode()
            content_type = payloads.FORM_CONTENT_TYPE
        elif shape == 9:  # no shape at all
            raw = rng.choice([b"", b"payload=", b"{", b"[]", b"null", b"hello", bytes(rng.randrange(256)
                                                                                        for _ in range(64))])
            content_type = rng.choice([payloads.FORM_CONTENT_TYPE, "application/json", "text/plain"])
        else:  # interactivity or an event, spoiled
            payload = self.interactive(url)
            if rng.random() < 0.8:
                self.spoil(payload)
            text = self.deepen(json.dumps(payload, ensure_ascii=rng.random() < 0.5))
            if rng.random() < 0.2:
                text = text[: rng.randrange(len(text))]  # truncated
            if payload.get("type") == "event_callback" and rng.random() < 0.7:
                raw, content_type = text.encode(), "application/json"
            else:
                raw, content_type = urlencode({"payload": text}).encode(), payloads.FORM_CONTENT_TYPE
        if rng.random() < 0.08:
            at = rng.randrange(len(raw) + 1)
            raw = raw[:at] + b"\xff\xfe" + raw[at:]
        return raw, content_type

    def shot(self) -> Shot:
        rng = self.rng
        roll = rng.random()
        if roll < 0.15:  # a command Slack could send, with junk text: signed, understood, answered
            url = self.bot.slack.new_response_url(channel_id=CHANNEL, user_id=ALICE[0])
            raw = urlencode(self.command_form(url, slack_could_send=True)).encode()
            return Shot("signed command", raw, signed(raw), url)
        url = self.reply_url()
        raw, content_type = self.hostile(url)
        if roll < 0.45:
            return Shot("signed hostile", raw, signed(raw, content_type=content_type), url)
        if roll < 0.75:
            headers = {"Content-Type": content_type}
            if rng.random() < 0.5:
                headers["X-Slack-Request-Timestamp"] = rng.choice(["", "abc", "-1", "1e9", str(10**25),
                                                                   f"{time.time()}", str(int(time.time()))])
                headers["X-Slack-Signature"] = rng.choice(["", "v0=", "v0=" + "a" * 64, "garbage", "v1=00"])
            return Shot("unsigned", raw, headers, url)
        bad = rng.randrange(4)
        headers = signed(raw, content_type=content_type,
                         secret="not-the-secret" if bad == 0 else "e2e-signing-secret-0123456789abcdef",
                         timestamp=int(time.time()) + rng.choice([-400, 400, -10**6]) if bad == 1 else None)
        if bad == 2:
            raw = raw + b"&x=1"  # changed after signing
        if bad == 3:
            headers["X-Slack-Signature"] = headers["X-Slack-Signature"].replace("v0=", "v1=")
        return Shot("badly signed", raw, headers, url)


def status_class(status: int) -> str:
    return f"{status // 100}xx"


@pytest.mark.timeout(120)
async def test_thousands_of_hostile_requests_change_nothing(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="commops")
    caplog.set_level(logging.INFO, logger="slack_bolt")
    started = time.monotonic()
    statuses: Counter[tuple[str, int]] = Counter()
    unverified_urls: set[str] = set()
    async with attacker_sink() as sink:
        fuzzer = Fuzzer(bot, sink.url, seed=int(os.environ.get(SEED_ENV, "1234")))
        shots = [fuzzer.shot() for _ in range(REQUESTS)]
        for shot in shots:
            if shot.kind in ("unsigned", "badly signed") and shot.reply_url is not None:
                unverified_urls.add(shot.reply_url)

        async def fire(shot: Shot) -> None:
            response = await bot.http.post(f"{bot.url}/slack/events", content=shot.raw, headers=shot.headers)
            statuses[(shot.kind, response.status_code)] += 1
            if shot.kind in ("unsigned", "badly signed"):
                expected = {401, 413} if len(shot.raw) > MAX_BODY else {401}
                assert response.status_code in expected, (shot.kind, shot.raw[:200], response.status_code)

        for first in range(0, len(shots), CONCURRENCY):
            await asyncio.gather(*(fire(shot) for shot in shots[first:first + CONCURRENCY]))
        await bot.settle()

        by_kind = Counter(shot.kind for shot in shots)
        classes = Counter(status_class(status) for (_kind, status) in statuses.elements())
        print(f"\n{REQUESTS} requests in {time.monotonic() - started:.1f} s")
        print("by kind:", dict(sorted(by_kind.items())))
        print("by status class:", dict(sorted(classes.items())))
        for kind in sorted(by_kind):
            print(f"  {kind}:", dict(sorted((status, n) for (k, status), n in statuses.items() if k == kind)))

        reasons = Counter(record.getMessage().split(": ")[1 if "(401)" not in record.getMessage() else 0][:60]
                          for record in caplog.records if record.getMessage().startswith("refused"))
        print("refusals by reason (top 12):", *(f"  {n:5d}  {why}" for why, n in reasons.most_common(12)), sep="\n")
        assert not [key for key in statuses if key[1] >= 500]
        assert sink.hits == []
    posted = {str(call.args.get("url")) for call in bot.slack.calls("response_url", include_failed=True)}
    assert not posted & unverified_urls
    vendor_calls = [(call["path"], call["json"]) for call in bot.sandbox.state.recorded_calls()]
    assert vendor_calls == []
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert "Traceback" not in caplog.text and "unhandled" not in caplog.text.lower()
    assert by_kind["signed command"] > 300 and by_kind["unsigned"] > 600  # the mix is what it says
    assert statuses.total() == REQUESTS

    response = await bot.command("/resend", "help")
    assert response.status_code == 200 and "Usage" in response.text
