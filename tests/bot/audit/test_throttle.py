"""One user's denials cannot fill the audit log, and the rows still say how many were left out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.actor import Actor
from bot.audit.log import AuditLog
from bot.audit.throttle import DenialThrottle
from bot.store.engine import Store

MALLORY = Actor("U0MALLORY", "mallory", "T1", "C1")
ALICE = Actor("U0ALICE01", "alice", "T1", "C1")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/audit.db")
    await store.start()
    yield store
    await store.close()


async def test_a_flood_of_denials_writes_a_bounded_number_of_rows_and_counts_the_rest(store: Store) -> None:
    now = [0.0]
    audit = AuditLog(store, denials=DenialThrottle(per_window=5, window_seconds=60, clock=lambda: now[0]))
    written = [await audit.record_denial("resend", MALLORY, error_code="not_granted") for _ in range(500)]
    assert written.count(True) == 5
    assert await audit.record_denial("resend", ALICE, error_code="not_granted")  # others are not affected
    now[0] = 61.0
    assert await audit.record_denial("resend", MALLORY, error_code="not_granted")
    rows = await audit.query(users=[MALLORY.user_id], limit=None)
    assert len(rows) == 6 and all(row.outcome == "denied" for row in rows)
    assert rows[-1].arguments == {"denials_not_written_before": 495}
    assert "denials_not_written_before" not in rows[0].arguments
