"""Fault rules: the next matching requests get a failure instead of (or on top of) the real answer.

``status``, ``rate_limit`` and ``envelope`` answer in place of the API: nothing changes in the sandbox's data.
``timeout`` and ``malformed`` let the request take effect and spoil only the answer (late, or cut short), which is
the case a client must not retry blindly: the resend may well have happened.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any

from starlette.responses import JSONResponse

from bot.devtools.sandbox import envelopes
from bot.devtools.sandbox.traffic import Vendor

KINDS = ("status", "timeout", "malformed", "rate_limit", "envelope")
ANSWERING_KINDS = frozenset({"status", "rate_limit", "envelope"})


@dataclass
class FaultRule:
    kind: str
    path: str = "/"  # prefix of the request path
    method: str | None = None  # None matches every method
    status: int | None = None
    code: int | None = None
    times: int | None = 1  # None: until cleared
    retry_after: float | None = None
    id: int = 0
    served: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1, or null for 'until cleared'")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError("status must be an HTTP status code")
        if not self.path.startswith("/"):
            raise ValueError("path must start with /")
        self.method = self.method.upper() if self.method else None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and path.startswith(self.path)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_rule(body: Any) -> FaultRule:
    """A rule from the control API's JSON; ValueError names what is wrong."""
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    none = type(None)
    fields: dict[str, type | tuple[type, ...]] = {
        "kind": str, "path": str, "method": (str, none), "status": (int, none), "code": (int, none),
        "times": (int, none), "retry_after": (int, float, none)}
    unknown = set(body) - set(fields)
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
    for name, kinds in fields.items():
        if name in body and (not isinstance(body[name], kinds) or isinstance(body[name], bool)):
            raise ValueError(f"{name} has the wrong type")
    if "kind" not in body:
        raise ValueError("kind is required")
    return FaultRule(**body)


class FaultBook:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def add(self, rule: FaultRule) -> FaultRule:
        rule.id = next(self._ids)
        self.rules.append(rule)
        return rule

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first matching rule, used up by one."""
        for rule in self.rules:
            if rule.matches(method, path):
                rule.served += 1
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times == 0:
                        self.rules.remove(rule)
                return rule
        return None

    def clear(self) -> int:
        count = len(self.rules)
        self.rules.clear()
        return count


def _retry_after(seconds: float | None) -> dict[str, str]:
    if seconds is None:
        return {}
    return {"Retry-After": str(int(seconds)) if float(seconds).is_integer() else str(seconds)}


def answer(rule: FaultRule, vendor: Vendor, path: str) -> JSONResponse:
    """The response for an answering fault (status, rate_limit, envelope)."""
    if rule.kind == "rate_limit":
        if vendor == "comm":
            return envelopes.comm_error(429, headers=_retry_after(rule.retry_after or 60))
        # Capillary documents no Retry-After: send one only when the rule asks for it.
        return envelopes.capillary_error(path, rule.code or 429, status=429, headers=_retry_after(rule.retry_after))
    if rule.kind == "envelope":
        code = rule.code or 500
        if vendor == "comm":
            return envelopes.respond({"message": envelopes.message_for(code), "errors": {"code": [str(code)]}})
        return envelopes.capillary_error(path, code, status=200)
    status = rule.status or 500
    headers = _retry_after(rule.retry_after)
    if vendor == "comm":
        return envelopes.comm_error(status, headers=headers)
    # A missing access-group grant is HTTP 403 with errorCode 4000 (API_NOTES), so that is the default body.
    code = rule.code or (4000 if status == 403 else status)
    return envelopes.capillary_error(path, code, status=status, headers=headers)


def spoil(body: bytes) -> bytes:
    """Cut a JSON body short so it cannot parse; a tiny body becomes an HTML error page's first bytes."""
    if len(body) >= 8:
        return body[: len(body) // 2]
    return b"<html><body>502 Bad Gat"
