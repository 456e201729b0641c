"""Turn a Comm answer into data or a typed error with a sentence a person understands.

Comm answers errors the way its framework does by default (API_NOTES §2, an inference): the HTTP status says
what went wrong and the body is ``{"message": ..., "errors": {"field": ["..."]}}`` (the latter on 422 only).
Comm's own words go into a sentence only through :func:`bot.vendors.errors.quoted`, with the client's ``secrets``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.vendors.errors import (
    MAYBE_APPLIED,
    AccessDenied,
    AuthFailed,
    InvalidInput,
    MalformedResponse,
    NotFound,
    RateLimited,
    Unavailable,
    VendorError,
    quoted,
)

VENDOR = "Comm"


def parse_body(raw: bytes, *, status: int, maybe_applied: bool) -> Any:
    """The JSON body; an unreadable one is an error (an empty one is ``{}``, read by the status)."""
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        if status >= 400:
            return {}  # a proxy's HTML error page: the status alone says enough
        hint = f"; {MAYBE_APPLIED}" if maybe_applied else ""
        raise MalformedResponse(
            f"Comm answered HTTP {status} with a body that is not JSON{hint}.",
            vendor=VENDOR, http_status=status, maybe_applied=maybe_applied,
        ) from None


def field_errors(body: Any, secrets: Sequence[str] = ()) -> list[str]:
    """``errors`` of a 422 as ``field: message`` lines, in the vendor's order, each fit to repeat."""
    found = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(found, dict):
        return []
    lines: list[str] = []
    for field, messages in found.items():
        texts = messages if isinstance(messages, list) else [messages]
        lines.extend(quoted(f"{field}: {text}", secrets) for text in texts)
    return lines


def _listed(body: Any, message: str | None, secrets: Sequence[str]) -> str:
    """A 422's field errors (at most a few), else its message: what Comm said was wrong."""
    fields = field_errors(body, secrets)
    shown = "; ".join(fields[:5]) + (f"; and {len(fields) - 5} more" if len(fields) > 5 else "")
    return shown or message or "no details given"


def status_error(
    status: int,
    body: Any,
    *,
    subject: str,
    maybe_applied: bool,
    retry_after: float | None = None,
    owned: bool = True,
    secrets: Sequence[str] = (),
) -> VendorError:
    """Map an HTTP error status to a typed error. ``subject`` names what was asked for, e.g. "campaign 9f1c…";
    ``owned``: it belongs to one team, so a 403 means another team's (else the token lacks a permission);
    ``secrets``: the credentials the client sent, redacted from whatever Comm's answer repeats."""
    common: dict[str, Any] = {"vendor": VENDOR, "http_status": status, "code": status}
    raw = body.get("message") if isinstance(body, dict) else None
    message = quoted(raw, secrets) if isinstance(raw, str) and raw.strip() else None
    detail = f" (“{message}”)" if message else ""
    if status == 401:
        return AuthFailed(f"Comm refused the bot's token (401){detail}: check COMM_API_TOKEN.", **common)
    if status == 403:
        why = ("it belongs to another Comm team, not the one COMM_API_TOKEN is for" if owned
               else "COMM_API_TOKEN lacks the permission")
        return AccessDenied(f"Comm refused access to {subject} (403): {why}.", **common)
    if status == 404:
        hint = "" if owned else ": check COMM_API_URL"
        return NotFound(f"Comm found no {subject} (404){hint}.", **common)
    if status == 422:
        listed = _listed(body, message, secrets)
        return InvalidInput(f"Comm rejected the request for {subject} (422): {listed.rstrip('.')}. "
                            "Nothing was changed.", **common)
    if status == 429:
        wait = f"try again in {retry_after:g} s" if retry_after is not None else "wait a minute and try again"
        return RateLimited(f"Comm is rate limiting the bot's calls (429); {wait}.", retry_after=retry_after,
                           **common)
    if status >= 500:
        # 503 means "not now": the request was turned away. Any other failure may come after the work was done.
        unsure = maybe_applied and status != 503
        then = MAYBE_APPLIED if unsure else "try again in a minute"
        return Unavailable(f"Comm is unavailable right now (HTTP {status}); {then}.", maybe_applied=unsure,
                           retry_after=retry_after, **common)
    return VendorError(f"Comm answered HTTP {status} for {subject}{detail}.", **common)


def body_error(body: Any, *, status: int, subject: str, maybe_applied: bool,
               secrets: Sequence[str] = ()) -> VendorError | None:
    """An error reported in a success answer (``message`` and ``errors``, no ``data``): the body wins."""
    if not isinstance(body, dict) or "data" in body or not body.get("errors"):
        return None
    message = quoted(body["message"], secrets) if body.get("message") else None
    listed = _listed(body, message, secrets)
    hint = f" {MAYBE_APPLIED[0].upper()}{MAYBE_APPLIED[1:]}." if maybe_applied else ""
    return VendorError(f"Comm reported an error for {subject} despite HTTP {status}: {listed}.{hint}",
                       vendor=VENDOR, http_status=status, maybe_applied=maybe_applied)
