"""The vendor clients' HTTP: one pooled aiohttp session per client, a base URL, default headers and a timeout for each
phase of a call.

aiohttp rather than httpx: a call costs a fraction of the CPU (httpx's pool looks at every pooled connection, and
asks its socket, on every request), and the alert job and a busy /resend make thousands of calls a minute.
Transport failures are aiohttp's exceptions; bot/vendors/retrying.py turns them into the vendors' typed errors.

``handler`` answers in place of the network (a test double at the transport, like httpx's MockTransport): every
other part of a client still runs.
"""

from __future__ import annotations

import inspect
import json as jsonlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

CONNECTIONS = 50  # calls in flight to one vendor at most (the workers of bot/work/turns.py)


@dataclass(frozen=True)
class Request:
    """A request as a test's handler sees it."""

    method: str
    url: URL
    headers: CIMultiDictProxy[str]
    json: Any = None


@dataclass(frozen=True)
class Response:
    status_code: int
    content: bytes = b""
    headers: CIMultiDictProxy[str] = field(default_factory=lambda: CIMultiDictProxy(CIMultiDict()))

    @classmethod
    def of(cls, status: int, json: Any = None, headers: Mapping[str, str] | None = None) -> Response:
        """An answer with a JSON body, for test handlers."""
        content = b"" if json is None else jsonlib.dumps(json).encode()
        return cls(status, content, CIMultiDictProxy(CIMultiDict(headers or {})))


Handler = Callable[[Request], Response | Awaitable[Response]]


class HttpClient:
    def __init__(self, base_url: str, *, timeout: float, headers: Mapping[str, str] | None = None,
                 connections: int = CONNECTIONS, handler: Handler | None = None) -> None:
        self.base_url = URL(base_url.rstrip("/"))
        self._prefix = base_url.rstrip("/")
        self._headers = dict(headers or {})
        # As httpx's Timeout(timeout): that long for a free connection and connecting, and between reads.
        self._timeout = aiohttp.ClientTimeout(total=None, connect=timeout, sock_connect=timeout, sock_read=timeout)
        self._connections = connections
        self._handler = handler
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Made on first use, on the running loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=self._connections, limit_per_host=0),
                cookie_jar=aiohttp.DummyCookieJar(),  # vendors' cookies are not ours to keep
            )
        return self._session

    async def request(self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None,
                      headers: Mapping[str, str] | None = None) -> Response:
        url = URL(self._prefix + path)
        if params:
            url = url.update_query({key: str(value) for key, value in params.items() if value is not None})
        if self._handler is not None:
            answer = self._handler(Request(method, url, CIMultiDictProxy(CIMultiDict({**self._headers,
                                                                                       **(headers or {})})), json))
            return await answer if inspect.isawaitable(answer) else answer
        async with self._open().request(method, url, json=json, headers=headers) as response:
            content = await response.read()
            return Response(response.status, content, response.headers)

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
