"""The audit log: what a row holds for each outcome, filters, redaction, and that it only ever grows; on SQLite and
PostgreSQL (the ``store`` fixture of tests/conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.actor import Actor
from bot.audit.log import AuditLog, AuditOutcome
from bot.resend.service import ResendService
from bot.store.engine import Store
from bot.vendors.capillary import ResendResult
from bot.vendors.errors import NotFound, Timeout

ALICE = Actor("U0ALICE01", "alice", "T0001", "C0OPS0001")
BOB = Actor("U0BOB0001", "bob", "T0001", "C0OPS0001")
START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
SECRET = "capillary-password-123"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def audit(store: Store, clock: Clock) -> AuditLog:
    return AuditLog(store, clock=clock, secrets=[SECRET])


class FakeCapillary:
    """Answers resends from a script: an id maps to a result or an error to raise."""

    def __init__(self, script: dict[int, ResendResult | Exception]) -> None:
        self.script = script

    async def resend(self, message_id: int) -> ResendResult:
        answer = self.script[message_id]
        if isinstance(answer, Exception):
            raise answer
        return answer


def service(store: Store, audit: AuditLog, clock: Clock, script: dict[int, Any]) -> ResendService:
    return ResendService(FakeCapillary(script), store, audit=audit, clock=clock)  # type: ignore[arg-type]


async def test_a_row_holds_who_what_where_and_the_vendors_ids(audit: AuditLog) -> None:
    await audit.record("campaign.pause", AuditOutcome.OK, ALICE, arguments={"campaign": "Diwali"},
                       campaign_id="cmp_42", request_id="req-1", latency_ms=12.6, attempt_id="a" * 32)
    (entry,) = await audit.query()
    assert (entry.at, entry.user_id, entry.user_name, entry.team_id, entry.channel_id) == (
        START, "U0ALICE01", "alice", "T0001", "C0OPS0001")
    assert (entry.action, entry.outcome, entry.arguments) == ("campaign.pause", "ok", {"campaign": "Diwali"})
    assert (entry.campaign_id, entry.request_id, entry.latency_ms, entry.attempt_id) == ("cmp_42", "req-1", 13,
                                                                                           "a" * 32)


async def test_a_vendor_error_keeps_its_kind_code_sentence_and_request_id(audit: AuditLog) -> None:
    error = NotFound("Message 42 was not found in org 100737.", vendor="capillary", code=4223, http_status=200,
                     request_id="req-404")
    await audit.record("resend", AuditOutcome.VENDOR_ERROR, ALICE, error=error, communication_id=42)
    (entry,) = await audit.query()
    assert (entry.outcome, entry.error_code, entry.request_id) == ("vendor_error", "not_found:4223", "req-404")
    assert entry.error == "Message 42 was not found in org 100737."


async def test_secrets_are_redacted_from_arguments_and_errors(audit: AuditLog) -> None:
    await audit.record("resend", AuditOutcome.ERROR, ALICE,
                       arguments={"text": f"pw {SECRET} and xoxb-123-456-abc", "auth": "Authorization: Basic QUJD"},
                       error=RuntimeError(f"login with {SECRET} failed"))
    (entry,) = await audit.query()
    shown = str(entry.arguments) + str(entry.error)
    assert SECRET not in shown and "xoxb-123" not in shown and "QUJD" not in shown
    assert entry.error_code == "RuntimeError" and "[redacted]" in shown


async def test_long_arguments_are_clipped_not_dropped(audit: AuditLog) -> None:
    await audit.record("resend", AuditOutcome.INVALID, ALICE, arguments={"text": "9" * 5000})
    (entry,) = await audit.query()
    assert len(entry.arguments["text"]) == 501 and entry.arguments["text"].endswith("…")


async def test_the_log_refuses_updates_and_deletes(audit: AuditLog, store: Store) -> None:
    await audit.record("resend", AuditOutcome.OK, ALICE)
    for statement in ("UPDATE audit_log SET outcome = 'denied'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with store.session() as session, session.begin():
                await session.execute(text(statement))
    assert [entry.outcome for entry in await audit.query()] == ["ok"]
    assert not hasattr(audit, "delete") and not hasattr(audit, "update")


async def test_a_failed_write_is_logged_with_the_gist_and_does_not_raise(
    audit: AuditLog, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    await store.close()
    async with store.engine.begin() as connection:
        await connection.execute(text("DROP TABLE audit_log"))
    assert await audit.record("resend", AuditOutcome.OK, ALICE, communication_id=42, resent_id=43) is False
    assert "could not write the audit row" in caplog.text and "resend ok by U0ALICE01" in caplog.text


async def test_filters_since_user_action_and_limit(audit: AuditLog, clock: Clock) -> None:
    for hours, actor, action in [(0, ALICE, "resend"), (1, BOB, "campaign.pause"), (2, ALICE, "campaign.stop"),
                                 (3, BOB, "resend"), (4, ALICE, "audit.read")]:
        clock.now = START + timedelta(hours=hours)
        await audit.record(action, AuditOutcome.OK, actor)
    assert [e.action for e in await audit.query()] == ["resend", "campaign.pause", "campaign.stop", "resend",
                                                       "audit.read"]  # oldest first
    assert [e.action for e in await audit.query(limit=2)] == ["resend", "audit.read"]  # the most recent two
    assert [e.action for e in await audit.query(since=START + timedelta(hours=3))] == ["resend", "audit.read"]
    assert {e.user_id for e in await audit.query(users=["U0BOB0001"])} == {"U0BOB0001"}
    assert [e.action for e in await audit.query(actions=["campaign.*"])] == ["campaign.pause", "campaign.stop"]
    assert len(await audit.query(actions=["resend", "audit.read"], users=["U0ALICE01"])) == 2
    assert len(await audit.query(actions=["*"], limit=None)) == 5


# --- the resend service writes one row per id -----------------------------------------------------------------------


def _result(message_id: int, resent: int) -> ResendResult:
    return ResendResult(org_id=100737, undelivered_message_id=message_id, resent_message_id=resent,
                        request_id=f"req-{message_id}")


async def test_each_resend_outcome_is_a_row(store: Store, audit: AuditLog, clock: Clock) -> None:
    missing = NotFound("Message 2 was not found.", vendor="capillary", code=4223, request_id="req-2")
    late = Timeout("Capillary did not answer within 0.5 s. It may still have been carried out.",
                   vendor="capillary", maybe_applied=True)
    resend = service(store, audit, clock, {1: _result(1, 101), 2: missing, 3: late})
    await resend.resend_many([1, 2, 3], ALICE, attempt_id="attempt-1")
    await resend.resend_many([1], BOB, attempt_id="attempt-2")  # the guard: resent minutes ago
    rows = {(e.communication_id, e.user_id): e for e in await audit.query()}
    ok, failed, unknown, duplicate = (rows["1", "U0ALICE01"], rows["2", "U0ALICE01"], rows["3", "U0ALICE01"],
                                      rows["1", "U0BOB0001"])
    assert (ok.outcome, ok.resent_id, ok.org_id, ok.request_id) == ("ok", "101", 100737, "req-1")
    assert ok.arguments == {"message_id": 1, "force": False} and ok.action == "resend"
    assert (failed.outcome, failed.error_code, failed.request_id) == ("vendor_error", "not_found:4223", "req-2")
    assert (unknown.outcome, unknown.error_code) == ("vendor_error", "timeout")
    assert "may still have been carried out" in (unknown.error or "")
    assert (duplicate.outcome, duplicate.resent_id, duplicate.error_code) == ("duplicate", "101", "guard:resent")
    assert "by U0ALICE01" in (duplicate.error or "")
    assert {ok.attempt_id, failed.attempt_id, unknown.attempt_id} == {"attempt-1"}
    assert duplicate.attempt_id == "attempt-2"
    assert all(entry.latency_ms is not None and entry.latency_ms >= 0 for entry in rows.values())


async def test_a_forced_resend_is_recorded_as_forced_under_the_callers_action(
    store: Store, audit: AuditLog, clock: Clock
) -> None:
    resend = service(store, audit, clock, {7: _result(7, 70)})
    await resend.resend_many([7], ALICE)
    await resend.resend_many([7], BOB, overriding={7: 1}, action="alerts.resend")  # "resend anyway" of claim 1
    last = (await audit.query())[-1]
    assert (last.action, last.outcome, last.arguments["force"], last.user_id) == ("alerts.resend", "ok", True,
                                                                                 "U0BOB0001")


async def test_an_unexpected_failure_is_an_error_row_and_still_raises(
    store: Store, audit: AuditLog, clock: Clock
) -> None:
    resend = service(store, audit, clock, {9: ZeroDivisionError("boom")})
    with pytest.raises(ZeroDivisionError):
        await resend.resend_one(9, ALICE)
    (entry,) = await audit.query()
    assert (entry.outcome, entry.error_code, entry.communication_id) == ("error", "ZeroDivisionError", "9")
