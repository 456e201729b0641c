"""Opening a SQLite database: the switch to WAL waits for another process instead of failing."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from bot.store.engine import use_wal


def test_the_switch_to_wal_waits_while_another_connection_holds_the_file(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    opening = sqlite3.connect(path, timeout=0)  # no busy handler of its own
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        opening.execute("PRAGMA journal_mode=WAL")
    released = threading.Timer(0.2, lambda: holder.execute("COMMIT"))
    released.start()
    use_wal(opening, patience_seconds=10)
    released.join()
    assert opening.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_lock_held_past_the_patience_still_fails_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    opening = sqlite3.connect(path, timeout=0)
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        use_wal(opening, patience_seconds=0.05)
    holder.execute("COMMIT")
