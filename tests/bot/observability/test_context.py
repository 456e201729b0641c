"""The request scope: its worst outcome wins, it is counted once, and tasks started inside it see it."""

from __future__ import annotations

import asyncio

from bot.observability.context import RequestScope, current_request, note_outcome, serving
from bot.observability.metrics import REGISTRY


def count(kind: str, name: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value("commops_requests_total", {"kind": kind, "name": name, "outcome": outcome})
    return value or 0.0


def acks(kind: str) -> float:
    return REGISTRY.get_sample_value("commops_ack_seconds_count", {"kind": kind}) or 0.0


def test_the_worst_outcome_is_counted_once() -> None:
    before = {outcome: count("view", "scope.test", outcome) for outcome in ("ok", "invalid", "error")}
    scope = RequestScope("view", "scope.test")
    scope.note("invalid")
    scope.note("ok")
    scope.finish()
    scope.finish(failed=True)  # already counted
    assert count("view", "scope.test", "invalid") == before["invalid"] + 1
    assert count("view", "scope.test", "ok") == before["ok"]
    assert count("view", "scope.test", "error") == before["error"]


def test_a_failure_counts_as_an_error_and_the_ack_is_observed_once() -> None:
    before_errors, before_acks = count("event", "scope.test", "error"), acks("event")
    scope = RequestScope("event", "scope.test")
    scope.acked()
    scope.acked()
    scope.finish(failed=True)
    assert count("event", "scope.test", "error") == before_errors + 1
    assert acks("event") == before_acks + 1


async def test_work_started_inside_a_request_keeps_it() -> None:
    note_outcome("error")  # outside any request: nothing to note into
    assert current_request() is None
    scope = RequestScope("command", "/resend", attempt_id="a1", user="U1", action="resend")
    with serving(scope):
        later = asyncio.create_task(_note_later())  # the task copies the context: the scope goes with it
    await later
    assert current_request() is None
    assert scope.outcome == "invalid"


async def _note_later() -> None:
    await asyncio.sleep(0.01)
    note_outcome("invalid")
