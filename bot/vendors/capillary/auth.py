"""Capillary authentication: Basic (md5 of the password, as the API wants) or OAuth tokens.

Secrets stay inside these objects: they are never logged, put in an exception, or repr'd. ``secrets()`` hands
them to the client only so that they can be redacted from what Capillary's answers repeat.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from pydantic import SecretStr

TOKEN_HEADER = "X-CAP-API-OAUTH-TOKEN"


class Auth(Protocol):
    async def headers(self) -> dict[str, str]: ...

    async def refresh(self) -> bool:
        """Drop the current credential; True when a retry with fresh headers can help."""
        ...

    @property
    def principal(self) -> str:
        """Who the bot acts as, for messages (never a secret)."""
        ...

    def secrets(self) -> tuple[str, ...]:
        """Every credential these headers carry or derive from, to redact from vendor texts."""
        ...


class BasicAuth:
    def __init__(self, username: str, password: SecretStr) -> None:
        digest = hashlib.md5(password.get_secret_value().encode("utf-8")).hexdigest()
        token = base64.b64encode(f"{username}:{digest}".encode()).decode("ascii")
        self._header = {"Authorization": f"Basic {token}"}
        self._username = username
        self._secrets = (password.get_secret_value(), digest, token)

    async def headers(self) -> dict[str, str]:
        return dict(self._header)

    async def refresh(self) -> bool:
        return False

    @property
    def principal(self) -> str:
        return f"till {self._username}"

    def secrets(self) -> tuple[str, ...]:
        return self._secrets

    def __repr__(self) -> str:
        return f"BasicAuth(username={self._username!r})"


TokenFetcher = Callable[[], Awaitable[tuple[str, float]]]


class OAuthTokens:
    """Keeps one OAuth token, renewed before its TTL ends (and on demand after a 498/401)."""

    def __init__(self, fetch: TokenFetcher, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def headers(self) -> dict[str, str]:
        async with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                token, ttl = await self._fetch()
                # Renew at 80% of the TTL so no call carries a token about to die.
                self._token = token
                self._expires_at = self._clock() + max(ttl, 0.0) * 0.8
            return {TOKEN_HEADER: self._token}

    async def refresh(self) -> bool:
        async with self._lock:
            self._token = None
        return True

    @property
    def principal(self) -> str:
        return "the OAuth client"

    def secrets(self) -> tuple[str, ...]:
        return (self._token,) if self._token else ()

    def __repr__(self) -> str:
        return "OAuthTokens()"
