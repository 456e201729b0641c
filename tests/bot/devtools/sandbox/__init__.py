"""Tests of the vendor sandbox over real HTTP.

Each test module serves one sandbox on 127.0.0.1 for all its tests (starting uvicorn costs more than the tests);
``restore`` puts its state back to seeded data and default settings before every test. The fixtures that do both,
``server`` and ``sbx``, are in conftest.py.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from bot.devtools.local_server import serve_asgi
from bot.devtools.sandbox import DEMO, SandboxState, build_sandbox_app
from bot.devtools.sandbox.clock import utc_now


@dataclass
class Clock:
    """An injectable ``state.now`` that only moves when told to."""

    moment: datetime

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@dataclass
class Running:
    url: str
    state: SandboxState
    http: httpx.AsyncClient

    async def cap(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A Capillary request with the correct Basic header (md5 of the password)."""
        headers = {"Authorization": DEMO.basic_header(), **kwargs.pop("headers", {})}
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def comm(self, method: str, path: str, *, token: str = DEMO.comm_token, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, f"/api{path}", headers={"Authorization": f"Bearer {token}"}, **kwargs)


@asynccontextmanager
async def running_sandbox(state: SandboxState | None = None) -> AsyncIterator[Running]:
    state = state if state is not None else SandboxState(timeout_seconds=0.5)
    async with serve_asgi(build_sandbox_app(state)) as url, httpx.AsyncClient(base_url=url, timeout=5) as http:
        yield Running(url, state, http)


def restore(state: SandboxState, *, now: Callable[[], datetime] | None = None, timezone: str = "UTC",
            oauth_ttl_seconds: int = 300, timeout_seconds: float = 0.5,
            monotonic: Callable[[], float] | None = None) -> SandboxState:
    """Default settings (or the ones given), then freshly seeded data relative to ``now``."""
    state.now = now or utc_now
    state.monotonic = monotonic or time.monotonic
    state.timezone = timezone
    state.oauth_ttl_seconds = oauth_ttl_seconds
    state.timeout_seconds = timeout_seconds
    state.reset()
    return state
