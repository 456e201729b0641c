"""The store's schema comes from the migrations (bot/store/schema.py, bot/store/migrations/), on SQLite and PostgreSQL:
an empty database, one made before migrations (adopted and repaired), the lock that lets replicas starting together
migrate once, ``commops db upgrade|current|check``, DB_AUTO_UPGRADE=false, and ``commops check``.
"""

from __future__ import annotations

import asyncio
import functools
import shutil
import sqlite3
import tomllib
from collections.abc import AsyncIterator
from fnmatch import fnmatch
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.actor import Actor
from bot.app import check_slack
from bot.audit.log import AuditLog, AuditOutcome
from bot.checks import run_checks
from bot.devtools.local_server import free_port
from bot.settings import Settings
from bot.store import schema
from bot.store.base import Base
from bot.store.engine import Store
from bot.store.schema import (
    AUDIT_TRIGGERS,
    LOCK_KEY,
    MIGRATIONS,
    SchemaError,
    SchemaState,
    Standing,
    head,
    inspect_schema,
    prepare,
    upgrade,
)
from tests.bot.store.legacy import make_legacy
from tests.bot.test_cli import commops, environment

ROOT = Path(__file__).resolve().parents[3]
ALICE = Actor("U0ALICE01", "alice", "T0001", "C0OPS0001")
DAMAGE = ("ix_alert_outbox_state", "alert_outbox.claimed_by")  # and the backend's first audit trigger


def dialect(url: str) -> str:
    return make_url(url).get_backend_name()


def first_trigger(url: str) -> str:
    return AUDIT_TRIGGERS[dialect(url)][0]


@pytest.fixture
async def opened(database_url: str) -> AsyncIterator[Store]:
    """A store on the fresh database, its schema left to the test."""
    store = Store(database_url)
    yield store
    await store.close()


LATER_TABLES = {"alembic_version", "seen_requests", "scheduled_actions", "rate_slices",  # after the baseline
                "approval_requests"}
LATER_INDEXES = {"ix_seen_requests_seen_at", "ix_scheduled_actions_state_due_at", "ix_scheduled_actions_campaign_id",
                 "ix_scheduled_actions_request_key", "ix_alert_outbox_posted_at", "ix_resend_claims_claimed_at",
                 "ix_approval_requests_state_expires_at"}


async def schema_of(store: Store) -> tuple[set[str], set[str], set[str]]:
    """The tables, the indexes and alert_outbox's columns."""
    def read(connection: object) -> tuple[set[str], set[str], set[str]]:
        found = inspect(connection)
        tables = set(found.get_table_names())
        indexes = {index["name"] for table in tables for index in found.get_indexes(table) if index["name"]}
        return tables, indexes, {column["name"] for column in found.get_columns("alert_outbox")}

    async with store.engine.connect() as connection:
        return await connection.run_sync(read)


async def refuses_changes(store: Store) -> bool:
    for statement in ("UPDATE audit_log SET outcome = 'denied'", "DELETE FROM audit_log"):
        try:
            async with store.session() as session, session.begin():
                await session.execute(text(statement))
        except DBAPIError as error:
            assert "append-only" in str(error)
        else:
            return False
    return True


# Upgrading ---------------------------------------------------------------------------------------------------------


async def test_an_empty_database_is_upgraded_to_head_once(database_url: str) -> None:
    assert (await inspect_schema(database_url)).standing is Standing.EMPTY
    done = await upgrade(database_url)
    assert done.changed and done.before.standing is Standing.EMPTY
    assert done.describe() == f"upgraded an empty database to revision {head()} (head)"
    assert await inspect_schema(database_url) == SchemaState(head(), head(), Standing.CURRENT)
    again = await upgrade(database_url)
    assert not again.changed and again.describe() == f"already at revision {head()} (head): nothing to do"


async def differences(store: Store, metadata: MetaData) -> list[tuple[str, ...]]:
    """What Alembic's autogenerate would change to make the database match ``metadata``."""
    async with store.engine.connect() as connection:
        return await connection.run_sync(lambda sync: compare_metadata(
            MigrationContext.configure(sync, opts={"compare_type": True}), metadata))


async def test_the_migrated_schema_is_the_orm_metadata(database_url: str, opened: Store) -> None:
    """A change to bot/store/tables.py without a migration fails here."""
    await upgrade(database_url)
    assert await differences(opened, Base.metadata) == []
    changed = MetaData()  # and a change is seen: the ORM with one column more
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["leases"].append_column(Column("renewals", Integer, nullable=True))
    assert [difference[0] for difference in await differences(opened, changed)] == ["add_column"]


async def test_the_audit_log_is_append_only_after_an_upgrade(store: Store) -> None:
    await AuditLog(store).record("resend", AuditOutcome.OK, ALICE)
    assert await refuses_changes(store)
    assert [entry.outcome for entry in await AuditLog(store).query()] == ["ok"]


async def test_a_database_made_before_migrations_is_adopted_as_it_is(database_url: str, opened: Store) -> None:
    await make_legacy(database_url)
    await AuditLog(opened).record("campaign.pause", AuditOutcome.OK, ALICE, campaign_id="cmp_7")
    state = await inspect_schema(opened)
    assert state.standing is Standing.UNVERSIONED and not state.ok
    assert "made by commops before migrations" in state.describe() and "`commops db upgrade`" in state.describe()
    before = await schema_of(opened)
    done = await upgrade(opened)
    assert done.before.standing is Standing.UNVERSIONED and done.after.ok
    assert "a database made before migrations" in done.describe()
    tables, indexes, columns = await schema_of(opened)
    # Nothing of the old schema lost or changed; only what later revisions bring is new.
    assert (tables - LATER_TABLES, indexes - LATER_INDEXES, columns) == before
    assert [entry.campaign_id for entry in await AuditLog(opened).query()] == ["cmp_7"]


async def test_commops_db_upgrade_repairs_what_a_database_made_before_migrations_lacks(
    database_url: str, opened: Store, tmp_path: Path
) -> None:
    await make_legacy(database_url, without=(first_trigger(database_url), *DAMAGE))
    env = environment(DATABASE_URL=database_url)
    _, indexes, columns = await schema_of(opened)
    assert "ix_alert_outbox_state" not in indexes and "claimed_by" not in columns
    code, out, _ = await commops("db", "check", cwd=tmp_path, env=env)
    assert code == 1 and out.startswith("unversioned: ") and "`commops db upgrade`" in out

    code, out, err = await commops("db", "upgrade", cwd=tmp_path, env=env)
    assert (code, out, err) == (0, f"upgraded a database made before migrations (checked, completed, stamped) to "
                                   f"revision {head()} (head)\n", "")
    assert await commops("db", "current", cwd=tmp_path, env=env) == (0, f"at revision {head()} (head)\n", "")
    assert await commops("db", "check", cwd=tmp_path, env=env) == (0, f"at revision {head()} (head)\n", "")
    _, indexes, columns = await schema_of(opened)
    assert "ix_alert_outbox_state" in indexes and "claimed_by" in columns
    assert (await inspect_schema(opened)).ok  # every audit trigger is there again
    await AuditLog(opened).record("resend", AuditOutcome.OK, ALICE)
    assert await refuses_changes(opened)


async def test_a_missing_column_that_must_hold_a_value_is_named_not_invented(tmp_path: Path) -> None:
    path = tmp_path / "odd.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE leases (name VARCHAR(64) NOT NULL PRIMARY KEY, holder VARCHAR(64) NOT NULL)")
    with pytest.raises(SchemaError, match="the upgrade stopped and changed nothing: leases has no column acquired_at, "
                                          "which must hold a value"):
        await upgrade(f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as connection:  # and the failed upgrade changed nothing
        assert [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == [
            "leases"]


async def test_a_database_migrated_by_a_newer_version_is_refused(database_url: str, opened: Store) -> None:
    await upgrade(opened)
    async with opened.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    state = await inspect_schema(opened)
    assert state.standing is Standing.UNKNOWN and "a newer version migrated this database" in state.describe()
    with pytest.raises(SchemaError, match="0099, which this version of commops does not know"):
        await upgrade(opened)
    with pytest.raises(SchemaError, match="0099"):
        await prepare(opened, auto_upgrade=True)


NEXT = "9000"  # a revision the next version of commops would ship on top of today's head
NEXT_REVISION = '''"""A later revision, as the next version of commops would ship one."""

from alembic import op
import sqlalchemy as sa

revision = "9000"
down_revision = "{head}"


def upgrade() -> None:
    op.create_table("probe", sa.Column("id", sa.Integer(), primary_key=True))
'''


def ship_next_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on the code's migrations are today's plus a revision 9000."""
    migrations = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    (migrations / "versions" / "9000_probe.py").write_text(NEXT_REVISION.format(head=schema.head()))
    monkeypatch.setattr(schema, "MIGRATIONS", migrations)
    monkeypatch.setattr(schema, "_scripts", functools.cache(schema._scripts.__wrapped__))


async def test_a_database_behind_is_refused_without_auto_upgrade_and_upgraded_with_it(
    opened: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await upgrade(opened)
    today = schema.head()
    ship_next_revision(tmp_path, monkeypatch)
    state = await inspect_schema(opened)
    assert state == SchemaState(today, NEXT, Standing.BEHIND) and not state.ok
    assert state.describe() == f"at revision {today}, behind the code (head {NEXT}): run `commops db upgrade`"
    refused = rf"behind the code \(head {NEXT}\): run `commops db upgrade` \(DB_AUTO_UPGRADE"
    with pytest.raises(SchemaError, match=refused):
        await prepare(opened, auto_upgrade=False)
    done = await prepare(opened, auto_upgrade=True)
    assert done is not None and done.describe() == f"upgraded revision {today} to revision {NEXT} (head)"
    assert "probe" in (await schema_of(opened))[0] and (await inspect_schema(opened)).ok


# Replicas starting together ----------------------------------------------------------------------------------------


async def test_two_upgrades_at_once_migrate_once(database_url: str) -> None:
    done = await asyncio.gather(upgrade(database_url), upgrade(database_url))  # each on an engine of its own
    assert sorted(result.changed for result in done) == [False, True]
    assert (await inspect_schema(database_url)).ok


async def test_two_processes_upgrading_at_once_migrate_once(database_url: str, tmp_path: Path) -> None:
    env = environment(DATABASE_URL=database_url)
    done = await asyncio.gather(*(commops("db", "upgrade", cwd=tmp_path, env=env) for _ in range(2)))
    assert sorted(out for _, out, _ in done) == [f"already at revision {head()} (head): nothing to do\n",
                                                 f"upgraded an empty database to revision {head()} (head)\n"]
    assert [code for code, _, _ in done] == [0, 0]


async def test_an_upgrade_waits_for_the_migration_lock(database_url: str, opened: Store) -> None:
    if opened.dialect == "postgresql":
        holder = await opened.engine.connect()
        await holder.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    else:
        path = make_url(database_url).database
        assert path is not None
        raw = sqlite3.connect(path, isolation_level=None)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("BEGIN IMMEDIATE")
    waiting = asyncio.create_task(upgrade(database_url))
    await asyncio.sleep(0.5)
    assert not waiting.done()
    if opened.dialect == "postgresql":
        await holder.rollback()
        await holder.close()
    else:
        raw.execute("ROLLBACK")
        raw.close()
    assert (await asyncio.wait_for(waiting, 10)).changed


# Start-up, and the checks ------------------------------------------------------------------------------------------


async def test_with_db_auto_upgrade_false_run_refuses_a_database_behind_in_one_line(
    database_url: str, tmp_path: Path
) -> None:
    env = environment(DATABASE_URL=database_url, DB_AUTO_UPGRADE="false", SLACK_BOT_TOKEN="xoxb-1",
                      SLACK_SIGNING_SECRET="s", CAPILLARY_BASE_URL="http://127.0.0.1:9", CAPILLARY_USERNAME="u",
                      CAPILLARY_PASSWORD="p")
    code, out, err = await commops("run", "--mode", "http", "--host", "127.0.0.1", "--port", str(free_port()),
                                   cwd=tmp_path, env=env)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"commops: the database is empty (no tables yet): `commops db upgrade` creates them (head {head()}) "
        "(DB_AUTO_UPGRADE is false, so commops does not upgrade it at start)"]
    assert (await inspect_schema(database_url)).standing is Standing.EMPTY  # nothing was made


async def test_without_auto_upgrade_a_current_database_starts(store: Store) -> None:
    assert await prepare(store, auto_upgrade=False) is None


async def test_db_current_and_check_leave_a_missing_sqlite_file_alone(tmp_path: Path) -> None:
    env = environment(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/new.db")
    empty = f"empty (no tables yet): `commops db upgrade` creates them (head {head()})\n"
    assert await commops("db", "current", cwd=tmp_path, env=env) == (0, empty, "")
    assert await commops("db", "check", cwd=tmp_path, env=env) == (1, empty, "")
    assert not (tmp_path / "new.db").exists()


async def database_line(url: str, **values: object) -> str:
    settings = Settings(_env_file=None, database_url=url, capillary_base_url=None, **values)  # type: ignore[call-arg]
    lines: list[str] = []
    await run_checks(settings, lines.append, slack=check_slack)
    return next(line for line in lines if "Database:" in line)


async def test_commops_check_reports_a_schema_behind_and_a_missing_audit_trigger(
    database_url: str, opened: Store
) -> None:
    name = opened.dialect
    assert await database_line(database_url) == (
        f"✗  Database: {name}: the database is empty (no tables yet): `commops db upgrade` creates them (head "
        f"{head()}); or `commops run` applies it at start (DB_AUTO_UPGRADE is true)")
    assert (await database_line(database_url, db_auto_upgrade=False)).endswith(
        "; until then `commops run` refuses to start (DB_AUTO_UPGRADE is false)")
    await upgrade(opened)
    assert await database_line(database_url) == (
        f"✓  Database: {name} reachable, schema at revision {head()} (head), audit log append-only")
    async with opened.engine.begin() as connection:
        await connection.execute(text(f"DROP TRIGGER {first_trigger(database_url)}"
                                      + (" ON audit_log" if name == "postgresql" else "")))
    line = await database_line(database_url)
    assert line.startswith(f"✗  Database: {name}: the database is at revision {head()} (head); the audit log is not "
                           f"append-only: trigger {first_trigger(database_url)} is missing")


# The migrations themselves -----------------------------------------------------------------------------------------


def test_the_triggers_checked_are_the_ones_the_baseline_makes() -> None:
    baseline = ScriptDirectory(str(MIGRATIONS)).get_revision("0001")
    assert baseline is not None
    assert {name: tuple(triggers) for name, triggers in baseline.module.TRIGGERS.items()} == AUDIT_TRIGGERS


def test_an_installed_package_carries_the_migrations() -> None:
    """pyproject.toml's package data names every file Alembic needs (a wheel has no other source of them)."""
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = package_data["bot.store"]
    store = ROOT / "bot" / "store"
    needed = [path.relative_to(store).as_posix() for path in MIGRATIONS.rglob("*")
              if path.is_file() and "__pycache__" not in path.parts]
    assert "migrations/env.py" in needed and "migrations/script.py.mako" in needed
    assert [path for path in needed if not any(fnmatch(path, pattern) for pattern in patterns)] == []


def test_the_quick_look_at_the_revision_files_finds_alembics_head() -> None:
    """``commops run`` recognises a database at head without loading Alembic (bot/store/schema.py, quick_head)."""
    from bot.store.schema import quick_head

    assert quick_head() == head()
