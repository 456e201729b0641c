"""The store's schema: Alembic migrations (bot/store/migrations/), applied one database at a time.

:func:`upgrade` brings a database to the code's head revision inside one transaction, under a lock that makes
replicas starting together migrate once: on PostgreSQL a transaction-level advisory lock on a fixed key
(``pg_advisory_xact_lock``, let go at commit or rollback, even by a replica that dies); on SQLite the database file's
write lock, taken at once with ``BEGIN IMMEDIATE``. A replica that waited finds the work done and does nothing.

A database made before migrations (tables, no ``alembic_version``) is at no revision to Alembic, so the baseline
revision runs on it: it adds only what is missing and Alembic stamps it.

:func:`inspect_schema` reads where a database stands without changing it (``commops db current|check``,
``commops check``, DB_AUTO_UPGRADE=false).
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.store.engine import Store, use_wal

if TYPE_CHECKING:  # Alembic itself is loaded when a schema is looked at (not by merely importing this module)
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# pg_advisory_xact_lock's key: any fixed number, the same in every replica ("commops" in ASCII).
LOCK_KEY = 0x636F6D6D6F7073
VERSION_TABLE = "alembic_version"
UPGRADE = "commops db upgrade"
# The audit log's append-only triggers, made by the baseline revision; commops check says when one is missing.
AUDIT_TRIGGERS = {"sqlite": ("audit_log_no_update", "audit_log_no_delete"), "postgresql": ("audit_log_append_only",)}


class SchemaError(Exception):
    """The database cannot be used as it is; ``str(err)`` is the one line to show."""


class Standing(enum.StrEnum):
    CURRENT = "current"  # at the code's head revision
    BEHIND = "behind"  # at an older revision of the code's
    EMPTY = "empty"  # no tables (or no database file) yet
    UNVERSIONED = "unversioned"  # tables made before migrations, no alembic_version
    UNKNOWN = "unknown"  # at a revision this code does not know: a newer version migrated it


@dataclass(frozen=True)
class SchemaState:
    revision: str | None  # what alembic_version says, None when there is none
    head: str  # the code's
    standing: Standing
    missing_triggers: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.standing is Standing.CURRENT and not self.missing_triggers

    def describe(self) -> str:
        """One line: where the database stands and, when it is not current, what to run."""
        if self.standing is Standing.CURRENT:
            line = f"at revision {self.revision} (head)"
        elif self.standing is Standing.BEHIND:
            line = f"at revision {self.revision}, behind the code (head {self.head}): run `{UPGRADE}`"
        elif self.standing is Standing.EMPTY:
            line = f"empty (no tables yet): `{UPGRADE}` creates them (head {self.head})"
        elif self.standing is Standing.UNVERSIONED:
            line = (f"unversioned: tables made by commops before migrations; `{UPGRADE}` adopts them (adds what is "
                    f"missing and stamps revision {self.head})")
        else:
            line = (f"at revision {self.revision}, which this version of commops does not know (its head is "
                    f"{self.head}): a newer version migrated this database; run that version")
        if self.missing_triggers:
            line += (f"; the audit log is not append-only: trigger {', '.join(self.missing_triggers)} is missing "
                     "(dropped by hand?); recreate it as the baseline revision does "
                     "(bot/store/migrations/versions/0001_baseline.py)")
        return line


@dataclass(frozen=True)
class Upgrade:
    before: SchemaState
    after: SchemaState

    @property
    def changed(self) -> bool:
        return self.before.revision != self.after.revision

    def describe(self) -> str:
        if not self.changed:
            return f"already at revision {self.after.revision} (head): nothing to do"
        source = {Standing.EMPTY: "an empty database",
                  Standing.UNVERSIONED: "a database made before migrations (checked, completed, stamped)"}.get(
            self.before.standing, f"revision {self.before.revision}")
        return f"upgraded {source} to revision {self.after.revision} (head)"


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def head() -> str:
    revision = _scripts().get_current_head()
    assert revision is not None, "bot/store/migrations/versions holds no revision"
    return revision


def _state(connection: Connection) -> SchemaState:
    from alembic.runtime.migration import MigrationContext
    from alembic.util import CommandError

    code_head = head()
    tables = set(inspect(connection).get_table_names()) - {VERSION_TABLE}
    revisions = MigrationContext.configure(connection).get_current_heads()
    revision = revisions[0] if revisions else None
    if revision is None:
        standing = Standing.UNVERSIONED if tables else Standing.EMPTY
    elif revision == code_head:
        standing = Standing.CURRENT
    else:
        try:
            known = _scripts().get_revision(revision) is not None
        except CommandError:  # "Can't locate revision identified by …"
            known = False
        standing = Standing.BEHIND if known else Standing.UNKNOWN
    missing: tuple[str, ...] = ()
    if "audit_log" in tables and standing is not Standing.UNVERSIONED:
        missing = tuple(name for name in AUDIT_TRIGGERS[connection.dialect.name] if not _has_trigger(connection, name))
    return SchemaState(revision, code_head, standing, missing)


def _has_trigger(connection: Connection, name: str) -> bool:
    if connection.dialect.name == "sqlite":
        query = "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log' AND name = :name"
    else:
        query = ("SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass('audit_log') AND tgname = :name "
                 "AND NOT tgisinternal")
    return connection.execute(text(query), {"name": name}).first() is not None


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL and for an in-memory database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


async def inspect_schema(target: Store | str) -> SchemaState:
    """Where the database stands, changing nothing (a SQLite file that does not exist is not created)."""
    url = target.url if isinstance(target, Store) else target
    path = _sqlite_file(url)
    if path is not None and not path.exists():
        return SchemaState(None, head(), Standing.EMPTY)
    if isinstance(target, Store):
        async with target.probe() as connection:  # never queued behind the bot's own work
            return await connection.run_sync(_state)
    engine = create_async_engine(url)
    try:
        return await _read_state(engine)
    finally:
        await engine.dispose()


async def _read_state(engine: AsyncEngine) -> SchemaState:
    async with engine.connect() as connection:
        return await connection.run_sync(_state)


async def upgrade(target: Store | str) -> Upgrade:
    """Bring the database to the code's head revision, once, under the migration lock; what it was and is."""
    url = target.url if isinstance(target, Store) else target
    if isinstance(target, Store) and _sqlite_file(url) is None and target.dialect == "sqlite":
        # An in-memory database lives in the store's one connection: no one else can see it, let alone migrate it.
        return await _upgrade_on(target.engine)
    engine = _migration_engine(url)
    try:
        return await _upgrade_on(engine)
    finally:
        await engine.dispose()


def _migration_engine(url: str) -> AsyncEngine:
    if make_url(url).get_backend_name() != "sqlite":
        return create_async_engine(url)
    # SQLite: our own BEGIN IMMEDIATE, which takes the file's write lock before anything is read; the driver's own
    # transaction handling (which begins late, at the first write) is switched off. Others wait for the lock.
    engine = create_async_engine(url, connect_args={"timeout": 120})

    def connected(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        use_wal(dbapi_connection, patience_seconds=120)  # as the store opens it

    def begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine.sync_engine, "connect", connected)
    event.listen(engine.sync_engine, "begin", begin)
    return engine


async def _upgrade_on(engine: AsyncEngine) -> Upgrade:
    async with engine.connect() as connection:
        await _lock(connection)
        before = await connection.run_sync(_state)
        if before.standing is Standing.UNKNOWN:
            raise SchemaError(f"the database is {before.describe()}")
        if before.standing is not Standing.CURRENT:
            try:
                await connection.run_sync(_alembic_upgrade)
            except RuntimeError as error:  # a revision found something it must not guess at (see 0001)
                raise SchemaError(f"the upgrade stopped and changed nothing: {error}") from error
        after = await connection.run_sync(_state)
        await connection.commit()
    return Upgrade(before, after)


async def _lock(connection: AsyncConnection) -> None:
    """Begin the upgrade's transaction holding the migration lock (see the module's docstring)."""
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    else:
        await connection.begin()  # BEGIN IMMEDIATE (see _migration_engine)


def _alembic_upgrade(connection: Connection) -> None:
    from alembic import command

    config = _config()
    config.attributes["connection"] = connection  # env.py migrates on it, inside our transaction
    command.upgrade(config, "head")


async def prepare(store: Store, *, auto_upgrade: bool) -> Upgrade | None:
    """At start (``commops run``, shell, alerts): upgrade when ``auto_upgrade`` (DB_AUTO_UPGRADE), else refuse a
    database that is not current. Raises :class:`SchemaError` with the one line to show.

    A database already at the head revision (every start but the first after an upgrade) is recognised with one
    query, without loading Alembic."""
    if await _at_head(store):
        return None
    if auto_upgrade:
        return await upgrade(store)
    state = await inspect_schema(store)
    if state.standing is not Standing.CURRENT:
        raise SchemaError(f"the database is {state.describe()} (DB_AUTO_UPGRADE is false, so commops does not "
                          "upgrade it at start)")
    return None


_REVISION = re.compile(r"""^revision\s*(?::[^=]*)?=\s*["']([^"']+)["']""", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)


def quick_head() -> str | None:
    """The head revision read straight from the revision files (``revision = "…"``, ``down_revision = …``), without
    Alembic; None when they do not make one plain line of revisions (Alembic then decides)."""
    return _head_of(MIGRATIONS)


@functools.cache
def _head_of(migrations: Path) -> str | None:
    revisions: set[str] = set()
    replaced: set[str] = set()
    for path in (migrations / "versions").glob("*.py"):
        text_ = path.read_text(encoding="utf-8")
        found = _REVISION.search(text_)
        down = _DOWN.search(text_)
        if found is None or down is None:
            return None
        revisions.add(found.group(1))
        replaced.update(re.findall(r"""["']([^"']+)["']""", down.group(1)))
    heads = revisions - replaced
    return heads.pop() if len(heads) == 1 else None


async def _at_head(store: Store) -> bool:
    wanted = quick_head()
    if wanted is None or store.in_memory:
        return False
    try:
        async with store.probe() as connection:
            found = (await connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))).scalars().all()
    except Exception:  # no such table yet, or anything else: the full look decides
        return False
    return list(found) == [wanted]


async def schema_current(store: Store) -> bool:
    """True when ``store``'s schema is the one this code expects (``/readyz`` asks before it says ready).

    A database at a revision this code does not know (a newer replica migrated it during a rolling update)
    still counts as current for an old replica: otherwise every old pod would leave the Service the moment the
    first new one migrates. Revisions are only ever added, so the old code's tables are all still there.
    """
    state = await inspect_schema(store)
    return state.ok or (state.standing is Standing.UNKNOWN and not state.missing_triggers)
