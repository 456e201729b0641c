"""``commops audit``: filters, formats and mistakes, through click's runner as a user would type them."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.actor import Actor
from bot.audit.log import AuditLog, AuditOutcome
from bot.audit.report import parse_since
from bot.cli import main
from bot.store.engine import Store
from bot.store.schema import upgrade

NOW = datetime.now(UTC)
ALICE = Actor("U0ALICE01", "alice", "T0001", "C0OPS0001")
BOB = Actor("U0BOB0001", "bob", "T0001", "C0OPS0001")


async def _seed(url: str) -> None:
    store = Store(url)
    await upgrade(store)
    rows = [  # (age, actor, action, outcome, extra)
        (timedelta(days=10), ALICE, "resend", AuditOutcome.OK, {"communication_id": 1746061653596,
                                                               "resent_id": 1748743190124, "request_id": "r-1"}),
        (timedelta(days=2), BOB, "campaign.pause", AuditOutcome.DENIED, {"error_code": "not_granted",
                                                                         "error": "no grant covers this user"}),
        (timedelta(hours=3), ALICE, "campaign.resume", AuditOutcome.OK, {"campaign_id": "cmp_7"}),
        (timedelta(minutes=5), BOB, "resend", AuditOutcome.VENDOR_ERROR, {"error_code": "not_found:4223",
                                                                           "error": "Message 42 was not found."}),
    ]
    for age, actor, action, outcome, extra in rows:
        audit = AuditLog(store, clock=lambda age=age: NOW - age)
        await audit.record(action, outcome, actor, arguments={"note": "a, \"quoted\" value"}, **extra)  # type: ignore[arg-type]
    await store.close()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)  # no stray .env
    url = f"sqlite+aiosqlite:///{tmp_path}/commops.db"
    monkeypatch.setenv("DATABASE_URL", url)
    asyncio.run(_seed(url))
    return url


def audit(*args: str) -> Result:
    return CliRunner().invoke(main, ["audit", *args])


def _json(result: Result) -> list[dict[str, object]]:
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert isinstance(data, list)
    return data


@pytest.mark.usefixtures("database")
def test_the_table_lists_every_entry_oldest_first() -> None:
    result = audit()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["time", "(UTC)", "user", "action"]
    assert [line.split()[4] for line in lines[1:]] == ["resend", "campaign.pause", "campaign.resume", "resend"]
    assert "msg=1746061653596 resent=1748743190124 req=r-1" in lines[1]
    assert "not_granted no grant covers this user" in lines[2]


@pytest.mark.usefixtures("database")
def test_filters_by_time_user_and_action() -> None:
    assert [row["action"] for row in _json(audit("--since", "24h", "--format", "json"))] == [
        "campaign.resume", "resend"]
    assert [row["action"] for row in _json(audit("--since", "7d", "--format", "json"))] == [
        "campaign.pause", "campaign.resume", "resend"]
    since_date = (NOW - timedelta(days=3)).date().isoformat()
    assert len(_json(audit("--since", since_date, "--format", "json"))) == 3
    assert {row["user_id"] for row in _json(audit("--user", "U0BOB0001", "--format", "json"))} == {"U0BOB0001"}
    assert [row["outcome"] for row in _json(audit("--action", "resend", "--format", "json"))] == [
        "ok", "vendor_error"]
    assert len(_json(audit("--action", "campaign.*", "--format", "json"))) == 2
    both = audit("--user", "U0ALICE01", "--action", "resend", "--action", "campaign.pause", "--format", "json")
    assert [row["action"] for row in _json(both)] == ["resend"]


@pytest.mark.usefixtures("database")
def test_limit_keeps_the_most_recent() -> None:
    assert [row["action"] for row in _json(audit("--limit", "2", "--format", "json"))] == [
        "campaign.resume", "resend"]
    assert len(_json(audit("--limit", "0", "--format", "json"))) == 4


@pytest.mark.usefixtures("database")
def test_csv_has_every_column_and_survives_commas_and_quotes() -> None:
    result = audit("--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == 4
    assert {"at", "user_id", "user_name", "team_id", "channel_id", "action", "outcome", "arguments", "error_code",
            "error", "communication_id", "resent_id", "campaign_id", "request_id", "latency_ms",
            "attempt_id"} <= set(rows[0])
    assert json.loads(rows[0]["arguments"]) == {"note": 'a, "quoted" value'}
    assert rows[0]["at"].endswith("Z") and rows[2]["campaign_id"] == "cmp_7"


@pytest.mark.usefixtures("database")
def test_json_rows_carry_arguments_as_objects_and_times_in_utc() -> None:
    first = _json(audit("--format", "json"))[0]
    assert first["arguments"] == {"note": 'a, "quoted" value'}
    assert isinstance(first["at"], str) and first["at"].endswith("Z")
    assert first["resent_id"] == "1748743190124"


@pytest.mark.usefixtures("database")
@pytest.mark.parametrize(("args", "says"), [
    (["--since", "last tuesday"], "expected a date (2026-11-01)"),
    (["--action", "resnd"], "'resnd' is not an action"),
    (["--format", "xml"], "'xml' is not one of"),
    (["--limit", "-1"], "-1 is not in the range"),
])
def test_a_bad_option_is_a_usage_error(args: list[str], says: str) -> None:
    result = audit(*args)
    assert result.exit_code == 2
    assert says in result.output


def test_a_missing_database_is_one_line_and_not_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/nowhere.db")
    result = audit()
    assert result.exit_code == 1
    assert "nowhere.db, which does not exist" in result.output
    assert not (tmp_path / "nowhere.db").exists()


def test_no_entries_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite+aiosqlite:///{tmp_path}/empty.db"
    monkeypatch.setenv("DATABASE_URL", url)

    async def create() -> None:
        store = Store(url)
        await upgrade(store)
        await store.close()

    asyncio.run(create())
    result = audit()
    assert (result.exit_code, result.output) == (0, "no audit entries match\n")


def test_since_accepts_ages_dates_and_times() -> None:
    now = datetime(2026, 11, 8, 12, 0, tzinfo=UTC)
    assert parse_since("24h", now) == now - timedelta(hours=24)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("30m", now) == now - timedelta(minutes=30)
    assert parse_since("2026-11-01", now) == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_since("2026-11-01T08:30", now) == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
    assert parse_since("2026-11-01T08:30+05:30", now) == datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
