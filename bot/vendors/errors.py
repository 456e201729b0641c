"""Typed failures of vendor calls, each carrying a sentence a person understands.

Handlers show ``error.sentence``; the audit log keeps ``code`` and ``request_id``; a resend claim keeps the sentence
as its ``detail``. Sentences are built from our own words and the vendor's message, and a vendor's message may echo
what it was sent, a credential included: the vendor's words go in through :func:`quoted` (the client's own secrets
redacted, one line, clipped), and every sentence passes bot.logs' pattern redaction and a length cap on the way in.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.logs import redact

# How every vendor's sentences say that the vendor may have acted on a request that failed (``maybe_applied``).
MAYBE_APPLIED = "it may still have been carried out: check before trying again"
MAX_SENTENCE = 600  # characters of a sentence: it is shown in Slack, logged, audited and kept on a resend claim
MAX_QUOTED = 200  # characters of a vendor's own words inside a sentence
_MIN_SECRET = 4  # as bot.logs' formatter: a shorter "secret" would redact ordinary words


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quoted(text: object, secrets: Iterable[str] = ()) -> str:
    """A vendor's own words, fit to repeat in a sentence: ``secrets`` (the credentials the client sent) and
    anything shaped like a secret redacted, on one line, at most :data:`MAX_QUOTED` characters."""
    known = sorted({secret for secret in secrets if secret and len(secret) >= _MIN_SECRET}, key=len, reverse=True)
    return _clip(" ".join(redact(str(text), known).split()), MAX_QUOTED)


class VendorError(Exception):
    """A vendor call failed. ``retryable``: the same call may succeed later; ``maybe_applied``: the vendor may
    have acted on the request before it failed (a timeout after sending, an unreadable answer)."""

    retryable = False

    def __init__(
        self,
        sentence: str,
        *,
        vendor: str,
        code: int | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
        maybe_applied: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__()
        self.sentence = sentence
        self.vendor = vendor
        self.code = code
        self.http_status = http_status
        self.request_id = request_id
        self.maybe_applied = maybe_applied
        self.retry_after = retry_after

    @property
    def sentence(self) -> str:
        return self._sentence

    @sentence.setter
    def sentence(self, text: str) -> None:
        # Redacted and capped however the sentence was made (or later amended), so no caller can forget it.
        self._sentence = _clip(redact(text), MAX_SENTENCE)
        self.args = (self._sentence,)

    @property
    def kind(self) -> str:
        """A short stable name for logs and the audit log, e.g. ``not_found``."""
        return _KIND_NAMES.get(type(self), "vendor_error")


class NotFound(VendorError):
    """The thing named does not exist (Capillary 4223, HTTP 404)."""


class InvalidInput(VendorError):
    """The vendor rejected the request's content (HTTP 400, 422)."""


class AuthFailed(VendorError):
    """The credentials were refused (HTTP 401, OAuth 320001)."""


class AccessDenied(VendorError):
    """The credentials are valid but lack a grant (HTTP 403, Capillary 4000)."""


class RateLimited(VendorError):
    """Too many requests (HTTP 429)."""

    retryable = True


class Unavailable(VendorError):
    """The vendor is busy or down (5xx, 503/4001, 461, 521)."""

    retryable = True


class Timeout(VendorError):
    """No answer in time."""

    retryable = True


class ConnectionFailed(VendorError):
    """The vendor could not be reached at all; the request was never sent."""

    retryable = True


class MalformedResponse(VendorError):
    """The vendor answered something we cannot read."""


_KIND_NAMES: dict[type[VendorError], str] = {
    NotFound: "not_found",
    InvalidInput: "invalid_input",
    AuthFailed: "auth_failed",
    AccessDenied: "access_denied",
    RateLimited: "rate_limited",
    Unavailable: "unavailable",
    Timeout: "timeout",
    ConnectionFailed: "connection_failed",
    MalformedResponse: "malformed_response",
}
