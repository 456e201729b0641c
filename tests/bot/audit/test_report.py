"""`commops audit` output is safe where it is read: CSV in a spreadsheet, the table in a terminal; JSON is exact."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.actor import Actor
from bot.audit.log import AuditEntry, AuditLog, AuditOutcome
from bot.audit.report import csv_cell, render, visible
from bot.cli import main
from bot.store.engine import Store

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
FORMULAS = ["=HYPERLINK(\"https://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
FAKE_ROW = "mallory\n2026-11-23 12:00:00Z  U0ALICE01 alice  resend  ok"


def entry(**changes: Any) -> AuditEntry:
    values: dict[str, Any] = {
        "id": 1, "at": AT, "user_id": "U0MALLORY", "user_name": "mallory", "team_id": None, "channel_id": "C0OPS0001",
        "action": "resend", "outcome": "invalid", "arguments": {"text": "x"}, "error_code": None, "error": None,
        "org_id": None, "communication_id": None, "resent_id": None, "campaign_id": None, "request_id": None,
        "latency_ms": None, "attempt_id": None}
    values.update(changes)
    return AuditEntry(**values)


@pytest.mark.parametrize("formula", FORMULAS)
def test_a_csv_cell_that_starts_like_a_formula_is_text(formula: str) -> None:
    assert csv_cell(formula) == "'" + formula
    rows = list(csv.reader(io.StringIO(render([entry(user_name=formula, error=formula)], "csv"), newline="")))
    header, row = rows
    assert row[header.index("user_name")] == "'" + formula and row[header.index("error")] == "'" + formula


def test_ordinary_csv_cells_are_untouched() -> None:
    for value in ("alice", "1746061653596", "2026-11-23T12:00:00Z", "a-b", "", "{\"text\": \"=x\"}"):
        assert csv_cell(value) == value
    assert csv_cell(None) == "" and csv_cell(-1) == "'-1"  # a negative number is read as text: still that number


def test_the_table_shows_control_characters_instead_of_printing_them() -> None:
    table = render([entry(user_name=FAKE_ROW, error="bad\x1b[2J\u202eevil", error_code="x\ty")], "table")
    lines = table.splitlines()
    assert len(lines) == 2  # the header and one row, however many newlines the user name holds
    assert "mallory\\n2026-11-23" in lines[1]
    assert "bad\\x1b[2J\\u202eevil" in lines[1] and "x\\ty" in lines[1]
    assert "\x1b" not in table and "\u202e" not in table and "\t" not in table
    assert visible("plain é ü 😀") == "plain é ü 😀"


def test_json_stays_exact() -> None:
    (row,) = json.loads(render([entry(user_name=FAKE_ROW, error="=1+1\x1b")], "json"))
    assert row["user_name"] == FAKE_ROW and row["error"] == "=1+1\x1b"


def test_through_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite+aiosqlite:///{tmp_path}/commops.db"
    monkeypatch.setenv("DATABASE_URL", url)

    async def seed() -> None:
        store = Store(url)
        await store.start()
        await AuditLog(store, clock=lambda: AT).record(
            "resend", AuditOutcome.INVALID, Actor("U0MALLORY", FAKE_ROW), arguments={"text": "=1+1"},
            error="=cmd|' /C calc'!A0")
        await store.close()

    asyncio.run(seed())
    runner = CliRunner()
    table = runner.invoke(main, ["audit"])
    assert table.exit_code == 0, table.output
    assert len(table.output.splitlines()) == 2
    rows = list(csv.DictReader(io.StringIO(runner.invoke(main, ["audit", "--format", "csv"]).output)))
    assert rows[0]["error"] == "'=cmd|' /C calc'!A0" and rows[0]["user_name"] == FAKE_ROW  # text, not a formula
    assert json.loads(runner.invoke(main, ["audit", "--format", "json"]).output)[0]["user_name"] == FAKE_ROW
