"""Shared fixtures: the vendor sandbox and the Slack emulator, each a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bot.local_server import serve_asgi
from bot.sandbox import DEMO, SandboxState, build_sandbox_app


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
