"""Shared fixtures: the vendor sandbox and the Slack emulator, each a real HTTP server on 127.0.0.1; a fresh database
on SQLite and on PostgreSQL, and a store made on it by the migrations."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from bot.devtools.local_server import serve_asgi
from bot.devtools.sandbox import DEMO, SandboxState, build_sandbox_app
from bot.devtools.slack_emulator import SlackEmulator
from bot.store.engine import Store
from bot.store.schema import upgrade

# The bot refuses an access policy that group or others may write; the tests' files are made with this mask
# whatever the machine's default.
os.umask(0o022)


@dataclass
class Sandbox:
    url: str
    state: SandboxState

    @property
    def comm_url(self) -> str:
        return f"{self.url}/api"


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    state = SandboxState()
    state.timeout_seconds = 2.0  # longer than every client timeout the tests use
    async with serve_asgi(build_sandbox_app(state)) as url:
        yield Sandbox(url, state)


@pytest.fixture
def demo() -> object:
    return DEMO


class EmulatorServer:
    """One uvicorn server for a test module (each start and stop costs ~0.2 s); each test mounts a fresh Slack
    emulator on it."""

    def __init__(self) -> None:
        self.app: Any = None
        self.base_url = ""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    def mount(self, emulator: SlackEmulator) -> SlackEmulator:
        emulator.base_url = self.base_url
        self.app = emulator.app
        return emulator


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def emulator_server() -> AsyncIterator[EmulatorServer]:
    """Its module's async tests must run in the module's loop (``pytest.mark.asyncio(loop_scope="module")``)."""
    server = EmulatorServer()
    async with serve_asgi(server) as base_url:
        server.base_url = base_url
        yield server


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Put the root logger's handlers and level back after the test. configure_logging (which ``run`` and
    ``shell`` call) replaces them: pytest's capture among them, and with a handler on a stream the test closes.
    Opt in by name, or a module with ``pytestmark = pytest.mark.usefixtures("root_logging")``."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


# Databases ----------------------------------------------------------------------------------------------------------

POSTGRES_URL = os.environ.get("COMMOPS_TEST_POSTGRES_URL") or None
POSTGRES_HOW = ("set COMMOPS_TEST_POSTGRES_URL=postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB (a role that may "
                "create databases) or run .ci/run, which starts a PostgreSQL of its own")
POSTGRES_SKIPPED = f"PostgreSQL tests skipped: {POSTGRES_HOW}"


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database (made from COMMOPS_TEST_POSTGRES_URL's and
    dropped after the test). Without that URL the PostgreSQL half skips, but not in CI (CI=true), where it fails."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/store.db"
        return
    if POSTGRES_URL is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI runs the PostgreSQL tests, and COMMOPS_TEST_POSTGRES_URL is not set: {POSTGRES_HOW}")
        pytest.skip(POSTGRES_SKIPPED)
    async with fresh_postgres_database(POSTGRES_URL) as url:
        yield url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A store on a fresh database of each backend, its schema made by the migrations (as ``commops run`` makes it)."""
    await upgrade(database_url)
    store = Store(database_url)
    yield store
    await store.close()


@contextlib.asynccontextmanager
async def fresh_postgres_database(url: str) -> AsyncIterator[str]:
    """A new, empty database on the server of ``url`` (whose role may create databases), dropped on leaving."""
    import asyncpg

    admin = make_url(url).set(drivername="postgresql")
    name = f"commops_t_{secrets.token_hex(6)}"

    async def execute(statement: str) -> None:
        connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    await execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    finally:
        for attempt in range(50):
            try:
                await execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except asyncpg.InsufficientPrivilegeError:  # an autovacuum worker in it, which only it may end: wait
                if attempt == 49:
                    raise
                await asyncio.sleep(0.1)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    skipped = [report for report in terminalreporter.stats.get("skipped", [])
               if POSTGRES_SKIPPED in str(getattr(report, "longrepr", ""))]
    if skipped:
        terminalreporter.write_line(f"{len(skipped)} {POSTGRES_SKIPPED}")
