"""The log of vendor requests the sandbox received, for tests to assert on.

Headers are never kept, and values under secret-looking keys (the OAuth secret, tokens, passwords) are masked, so
the log can be printed or returned over HTTP without leaking anything.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

SECRET_KEYS = frozenset({"secret", "password", "accesstoken", "token", "authorization", "apikey", "api_key"})
MASK = "[redacted]"
MAX_CALLS = 200_000  # a 10,000-customer benchmark fits many times over; older entries fall off


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: MASK if str(key).lower() in SECRET_KEYS else redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def parse_body(body: bytes) -> tuple[Any, str | None]:
    """(JSON value or None, raw text when the body is not JSON)."""
    if not body:
        return None, None
    try:
        return redact(json.loads(body)), None
    except ValueError:
        return None, body[:2000].decode("utf-8", "replace")


class CallLog:
    def __init__(self) -> None:
        self.calls: deque[dict[str, Any]] = deque(maxlen=MAX_CALLS)

    def record(self, *, vendor: str, method: str, path: str, query: dict[str, str], body: bytes,
               at: str) -> dict[str, Any]:
        parsed, text = parse_body(body)
        call: dict[str, Any] = {"vendor": vendor, "method": method, "path": path, "query": redact(query),
                                "json": parsed, "at": at, "status": None}
        if text is not None:
            call["text"] = text
        self.calls.append(call)
        return call

    def matching(self, *, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        return [call for call in self.calls
                if (method is None or call["method"] == method.upper())
                and (path is None or call["path"].startswith(path))]

    def clear(self) -> None:
        self.calls.clear()
