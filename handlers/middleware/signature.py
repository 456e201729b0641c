"""Slack's request signature: ``X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{raw body}">`` with the
app's signing secret, and ``X-Slack-Request-Timestamp`` no more than five minutes away from now.

:func:`check` reads the two headers as the untrusted text they are: anything but a plain decimal timestamp and
``v0=`` followed by 64 hex digits fails (with a reason for the log, never an exception), and the digests are
compared in constant time. The raw body bytes are signed as they came, before any decoding.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable

MAX_SKEW_SECONDS = 5 * 60
TIMESTAMP_HEADER = "x-slack-request-timestamp"
SIGNATURE_HEADER = "x-slack-signature"
_TIMESTAMP = re.compile(r"[1-9][0-9]{0,11}")  # seconds since 1970 as Slack writes them: no sign, no leading zero
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


def check(secret: str, headers: Iterable[tuple[str, str]], body: bytes,
          clock: Callable[[], float] = time.time) -> str | None:
    """None when ``body`` is signed with ``secret`` and on time; else why not, in a few words for the log.
    ``headers`` are the request's (name, value) pairs, repeated names included."""
    found: dict[str, list[str]] = {TIMESTAMP_HEADER: [], SIGNATURE_HEADER: []}
    for name, value in headers:
        if name.lower() in found:
            found[name.lower()].append(value)
    if any(len(values) > 1 for values in found.values()):
        return "a repeated signature header"
    timestamp = next(iter(found[TIMESTAMP_HEADER]), None)
    signature = next(iter(found[SIGNATURE_HEADER]), None)
    if not timestamp:
        return "no timestamp"
    if not _TIMESTAMP.fullmatch(timestamp):
        return "a malformed timestamp"
    if abs(clock() - int(timestamp)) > MAX_SKEW_SECONDS:
        return "a timestamp more than 5 minutes off"
    if not signature:
        return "no signature"
    # Exactly as Slack writes it (lowercase hex): a second spelling of one signature would pass as a new request.
    if not _SIGNATURE.fullmatch(signature):
        return "a malformed signature"
    expected = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(f"v0={expected}", signature):
        return "a wrong signature"
    return None
