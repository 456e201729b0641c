"""Shared fixtures: the vendor sandbox and the Slack emulator, each a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from bot.devtools.local_server import serve_asgi
from bot.devtools.sandbox import DEMO, SandboxState, build_sandbox_app
from bot.devtools.slack_emulator import SlackEmulator

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
