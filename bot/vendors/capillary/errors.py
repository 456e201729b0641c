"""Turn a Capillary answer into data or a typed error with a sentence a person understands.

Capillary puts errors in the body, sometimes under HTTP 200: an ``errors`` array wins over the status.
Capillary's own words (error messages, warnings) go into a sentence only through
:func:`bot.vendors.errors.quoted`, with the credentials the client sent as ``secrets``.
"""

from __future__ import annotations

import json
import re
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

VENDOR = "Capillary"
TOKEN_EXPIRED = 498
INVALID_OAUTH_PAIR = 320001
ACCESS_GROUP_MISSING = 4000
AUTHZ_UNAVAILABLE = 4001
MESSAGE_NOT_FOUND = 4223
CUSTOMER_NOT_FOUND = 1012
SEARCH_BUSY = 461
CONCURRENT_ACTION = 521


def parse_body(raw: bytes, *, status: int, request_id: str | None, maybe_applied: bool) -> Any:
    if not raw.strip():
        if status >= 400:
            raise status_error(status, None, request_id=request_id, resource="", maybe_applied=maybe_applied)
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        hint = " The request may have been carried out: check before trying again." if maybe_applied else ""
        raise MalformedResponse(
            f"Capillary answered HTTP {status} with a body that is not JSON.{hint}",
            vendor=VENDOR,
            http_status=status,
            request_id=request_id,
            maybe_applied=maybe_applied,
        ) from None


def first_error(body: Any) -> tuple[int | None, str] | None:
    """The first entry of a non-empty ``errors`` array (v2 or v3 envelope), else None."""
    if not isinstance(body, dict):
        return None
    errors = body.get("errors")
    if not isinstance(errors, list) or not errors:
        return None
    entry = errors[0] if isinstance(errors[0], dict) else {"message": str(errors[0])}
    code = entry.get("code")
    try:
        number = int(code) if code is not None else None
    except (TypeError, ValueError):
        number = None
    return number, str(entry.get("message") or "no message given")


def warnings_of(body: Any, secrets: Sequence[str] = ()) -> list[str]:
    """Vendor warnings as plain sentences, fit to repeat; they are shown next to the result, never dropped."""
    if not isinstance(body, dict):
        return []
    found = body.get("warnings")
    if not isinstance(found, list):
        return []
    texts: list[str] = []
    for item in found:
        if isinstance(item, dict):
            message = item.get("message") or json.dumps(item, sort_keys=True)
            code = item.get("code")
            texts.append(quoted(f"{message} (code {code})" if code is not None else message, secrets))
        else:
            texts.append(quoted(item, secrets))
    return texts


def code_error(
    code: int | None,
    message: str,
    *,
    status: int,
    request_id: str | None,
    resource: str,
    maybe_applied: bool,
    secrets: Sequence[str] = (),
) -> VendorError:
    """Map a body error code (falling back to the HTTP status) to a typed error. ``maybe_applied``: the call
    changes data, so a server failure (5xx but 503, and not a "not now" code) may have come after the change.
    ``secrets``: the credentials the client sent, redacted from whatever Capillary's message repeats."""
    message = quoted(message, secrets)
    error = _by_code(code, message, status=status, request_id=request_id, resource=resource,
                     maybe_applied=maybe_applied)
    not_now = code in (AUTHZ_UNAVAILABLE, SEARCH_BUSY, CONCURRENT_ACTION, 429)
    if maybe_applied and status >= 500 and status != 503 and not not_now and not error.maybe_applied:
        error.maybe_applied = True
        error.sentence = f"{error.sentence.rstrip('.')}; {MAYBE_APPLIED}."
    return error


def _by_code(
    code: int | None, message: str, *, status: int, request_id: str | None, resource: str, maybe_applied: bool
) -> VendorError:
    common: dict[str, Any] = {"vendor": VENDOR, "code": code, "http_status": status, "request_id": request_id}
    if code == MESSAGE_NOT_FOUND:
        return NotFound(_not_found_sentence(message), **common)
    if code == CUSTOMER_NOT_FOUND:
        return NotFound(f"Capillary has no such customer ({message}).", **common)
    if code == INVALID_OAUTH_PAIR:
        return AuthFailed(
            "Capillary refused the OAuth client key and secret: check CAPILLARY_OAUTH_KEY and CAPILLARY_OAUTH_SECRET.",
            **common,
        )
    if code == ACCESS_GROUP_MISSING:
        return AccessDenied(_access_group_sentence(resource), **common)
    if code == AUTHZ_UNAVAILABLE:
        return Unavailable("Capillary's authorization service is unavailable right now; try again in a minute.",
                           **common)
    if code == SEARCH_BUSY:
        return Unavailable("Capillary's search is busy (461); try again in a moment.", **common)
    if code == CONCURRENT_ACTION:
        return Unavailable("Capillary is busy with another action on the same customer (521); try again shortly.",
                           **common)
    if code == 400 or (code is None and status == 400):
        return InvalidInput(f"Capillary rejected the input: {message}", **common)
    if code in (401, TOKEN_EXPIRED):
        return AuthFailed(_auth_sentence(), **common)
    if code == 403:
        return AccessDenied(_access_group_sentence(resource), **common)
    if code == 404:
        return NotFound(f"Capillary found nothing there: {message}", **common)
    if code == 429:
        return RateLimited("Capillary is rate limiting our calls; wait a minute and try again.", **common)
    if status >= 400:
        return status_error(status, message, request_id=request_id, resource=resource, maybe_applied=maybe_applied)
    return VendorError(f"Capillary reported an error (code {code}): {message}", **common)


def status_error(
    status: int, message: str | None, *, request_id: str | None, resource: str, maybe_applied: bool,
    secrets: Sequence[str] = (),
) -> VendorError:
    """Map a bare HTTP status (no usable body) to a typed error."""
    common: dict[str, Any] = {"vendor": VENDOR, "http_status": status, "request_id": request_id, "code": None}
    detail = f": {quoted(message, secrets)}" if message else ""
    if status in (401, TOKEN_EXPIRED):
        return AuthFailed(_auth_sentence(), **common)
    if status == 403:
        return AccessDenied(_access_group_sentence(resource), **common)
    if status == 404:
        return NotFound(f"Capillary found nothing at that address (404){detail}.", **common)
    if status == 400:
        return InvalidInput(f"Capillary rejected the input (400){detail}.", **common)
    if status == 429:
        return RateLimited("Capillary is rate limiting our calls (429); wait a minute and try again.", **common)
    if status in (SEARCH_BUSY, CONCURRENT_ACTION) or status >= 500:
        # 503 and the busy codes mean "not now"; any other failure may come after the work was done.
        unsure = maybe_applied and status not in (503, SEARCH_BUSY, CONCURRENT_ACTION)
        then = MAYBE_APPLIED if unsure else "try again in a minute"
        return Unavailable(f"Capillary is unavailable right now (HTTP {status}); {then}.", maybe_applied=unsure,
                           **common)
    return VendorError(f"Capillary answered HTTP {status}{detail}.", **common)


def _not_found_sentence(message: str) -> str:
    match = re.search(r"orgId:\s*(\d+)\s+and\s+messageId:\s*(\d+)", message)
    if match is None:
        return f"Capillary could not find that message: {message}"
    org, message_id = match.groups()
    return (f"Message {message_id} was not found in org {org}: check the id in Member Care → Communication "
            "(it must be the id of a message that was sent).")


def _auth_sentence() -> str:
    return ("Capillary refused the bot's credentials (401): check CAPILLARY_USERNAME and CAPILLARY_PASSWORD, "
            "or the OAuth key and secret.")


def _access_group_sentence(resource: str) -> str:
    where = f" on the “{resource}” access-group resource" if resource else ""
    return (f"The Capillary API user lacks access{where} (403): ask your Capillary admin to grant it"
            f"{' WRITE access' if resource else ''}.")
