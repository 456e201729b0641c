"""Capillary OAuth access tokens: issued for the demo key/secret, expiring after a TTL on the sandbox clock."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any


class TokenCheck(Enum):
    VALID = "valid"
    EXPIRED = "expired"  # answered with code 498, so the client knows to fetch a new one
    UNKNOWN = "unknown"  # answered with 401


@dataclass
class IssuedToken:
    user: dict[str, Any]
    expires_at: datetime
    expired: bool = False


class TokenStore:
    def __init__(self) -> None:
        self._tokens: dict[str, IssuedToken] = {}

    def issue(self, user: dict[str, Any], now: datetime, ttl_seconds: int) -> str:
        token = secrets.token_urlsafe(24)
        self._tokens[token] = IssuedToken(user, now + timedelta(seconds=ttl_seconds))
        return token

    def check(self, token: str, now: datetime) -> tuple[TokenCheck, dict[str, Any] | None]:
        issued = self._tokens.get(token)
        if issued is None:
            return TokenCheck.UNKNOWN, None
        if issued.expired or now >= issued.expires_at:
            return TokenCheck.EXPIRED, None
        return TokenCheck.VALID, issued.user

    def expire_all(self) -> int:
        for issued in self._tokens.values():
            issued.expired = True
        return len(self._tokens)

    def clear(self) -> None:
        self._tokens.clear()
