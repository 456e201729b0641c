"""What operators see of the bot over HTTP mode: /readyz, /metrics after real requests and an alert run, and JSON
log lines that carry the request's attempt id, user and action."""

from __future__ import annotations

import io
import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from bot.devtools import slack_payloads as payloads
from bot.logs import configure_logging, known_secrets
from tests.e2e.alert_support import alert_job
from tests.e2e.conftest import ALICE, BOT_TOKEN, CHANNEL, Bot
from tests.e2e.socket_support import metric
from tests.e2e.test_resend import SEED, SEED_RESENT, text_of


async def scrape(bot: Bot) -> str:
    response = await bot.http.get(f"{bot.url}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return response.text


def grew(before: str, after: str, sample: str, /, **labels: str) -> float:
    return metric(after, sample, **labels) - metric(before, sample, **labels)


async def test_readyz_over_http_names_what_is_missing(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    ready = await bot.http.get(f"{bot.url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "store": "ok", "schema": "current"}

    async def behind(_store: Any) -> bool:
        return False

    monkeypatch.setattr("bot.serving.schema_current", behind)
    stale = await bot.http.get(f"{bot.url}/readyz")
    assert stale.status_code == 503 and stale.json()["missing"] == ["schema"] and stale.json()["schema"] == "behind"

    def broken() -> Any:
        raise ConnectionRefusedError("the database is down")

    monkeypatch.setattr(bot.services.store, "session", broken)
    monkeypatch.setattr(bot.services.store, "probe", broken)  # what /readyz asks through
    down = await bot.http.get(f"{bot.url}/readyz")
    assert down.status_code == 503
    assert down.json() == {"status": "not ready", "missing": ["store", "schema"], "store": "ConnectionRefusedError",
                           "schema": "unknown"}


async def test_a_resend_is_counted_with_its_ack_and_its_capillary_call(bot: Bot) -> None:
    before = await scrape(bot)
    await bot.command("/resend", str(SEED))
    assert str(SEED_RESENT) in text_of((await bot.reply()).args)
    await bot.settle()
    after = await scrape(bot)

    assert grew(before, after, "commops_requests_total", kind="command", name="/resend", outcome="ok") == 1
    assert grew(before, after, "commops_ack_seconds_count", kind="command") == 1
    assert 0 < grew(before, after, "commops_ack_seconds_sum", kind="command") < 3
    assert grew(before, after, "commops_vendor_calls_total", vendor="capillary", operation="resend", status="200") == 1
    assert grew(before, after, "commops_vendor_call_seconds_count", vendor="capillary", operation="resend") == 1


async def test_outcomes_and_names_stay_within_known_values(bot: Bot) -> None:
    before = await scrape(bot)
    await bot.command("/resend", "abc")  # bad input: usage
    await bot.command("/resend", str(SEED), user=("U0EVE0001", "eve"))  # not granted
    message = {"ts": "1.000001", "blocks": [{"type": "actions", "block_id": "b", "elements": [
        {"type": "button", "action_id": f"made.up.{secrets.token_hex(4)}", "text": {"type": "plain_text",
                                                                                    "text": "?"}}]}]}
    action = payloads.button_action(message["blocks"], text="?")
    await bot.post(payloads.block_actions(action, user_id=ALICE[0], user_name=ALICE[1], channel_id=CHANNEL,
                                          message=message, trigger_id=bot.slack.new_trigger_id(),
                                          response_url=bot.slack.new_response_url(channel_id=CHANNEL,
                                                                                  user_id=ALICE[0])))
    await bot.settle()
    after = await scrape(bot)

    assert grew(before, after, "commops_requests_total", kind="command", name="/resend", outcome="invalid") == 1
    assert grew(before, after, "commops_requests_total", kind="command", name="/resend", outcome="denied") == 1
    assert grew(before, after, "commops_requests_total", kind="action", name="other", outcome="denied") == 1
    assert "made.up." not in after


async def test_an_alert_run_sets_the_cycle_metrics(bot: Bot, tmp_path: Path) -> None:
    before = await scrape(bot)
    job = alert_job(bot, tmp_path)
    bot.slack.fail_next("chat.postMessage", "internal_error", status=500)
    failed = await job.run_once()
    assert failed.new > 0 and failed.posted == 0
    after_failure = await scrape(bot)
    assert metric(after_failure, "commops_alert_cycle_seconds_count") - metric(
        before, "commops_alert_cycle_seconds_count") == 1
    assert metric(after_failure, "commops_alerts_pending") == failed.new
    posted = await job.run_once()
    assert posted.error is None and posted.posted == failed.new
    after = await scrape(bot)
    assert metric(after, "commops_alert_cycle_seconds_count") - metric(before, "commops_alert_cycle_seconds_count") == 2
    assert metric(after, "commops_alerts_pending") == 0
    assert metric(after, "commops_vendor_calls_total", vendor="capillary", operation="customer_interactions",
                  status="200") > 0


async def test_json_log_lines_carry_the_requests_ids(bot: Bot, root_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("INFO", known_secrets(bot.services.settings), stream=stream, fmt="json")
    await bot.command("/resend", str(SEED))
    await bot.reply()
    await bot.settle()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    caused = [line for line in lines if "attempt_id" in line]
    assert any(line["logger"] == "commops.capillary" and "/v2/communications/resend -> 200" in line["message"]
               for line in caused)  # logged after the ack, by the work the request left running
    assert {(line["user"], line["action"]) for line in caused} == {(ALICE[0], "resend")}
    [audited] = await bot.services.audit.query(limit=1)
    assert {line["attempt_id"] for line in caused} == {audited.attempt_id}
    assert BOT_TOKEN not in stream.getvalue()
