"""Logging set-up with secrets redacted from every line, at every level (tracebacks included): plain text lines,
or (``LOG_FORMAT=json``) one JSON object a line carrying the ids of the request that caused it."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from bot.observability.context import current_request

if TYPE_CHECKING:
    from bot.settings import Settings

_PATTERNS = [
    re.compile(r"xox[abposre]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(basic|bearer)\s+[A-Za-z0-9+/=._-]+"),
    re.compile(r"(?i)(x-cap-api-oauth-token['\"]?\s*[:=]\s*['\"]?)[A-Za-z0-9+/=._-]+"),
    # key=value and "key": "value" pairs whose key says secret (form bodies, JSON, reprs): the value goes, the
    # key stays so the line still says what was there. Secret-sounding prose ("the token expired") has no
    # separator and value, so it is left alone.
    re.compile(r"(?i)((?:password|passwd|secret|accessToken|access_token|refresh_token|api_key|apikey|"
               r"client_secret|signing_secret|\btoken)['\"]?\s*[:=]\s*['\"]?)(?!\[redacted\])[^\s'\",&}]+"),
]
REDACTED = "[redacted]"


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._secrets)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time`` (UTC), ``level``, ``logger``, ``message``, the ``attempt_id``, ``user`` and
    ``action`` of the request that caused the line (when one did), and ``exception`` for a traceback. Each text is
    redacted before it is encoded, so a redaction can never break the JSON."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage(), self._secrets),
        }
        request = current_request()
        if request is not None:
            for key in ("attempt_id", "user", "action"):
                value = getattr(request, key)
                if value:
                    entry[key] = value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info), self._secrets)
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text, self._secrets)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info), self._secrets)
        return json.dumps(entry, ensure_ascii=False, default=str)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    return text


def known_secrets(settings: Settings) -> list[str]:
    """Every secret the settings hold, plus what the bot derives from them and sends instead: the md5 of the
    Capillary password and the Basic header made of it (see bot/vendors/capillary/auth.py)."""
    values = [settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token,
              settings.capillary_password, settings.capillary_oauth_key, settings.capillary_oauth_secret,
              settings.comm_api_token]
    found = [value.get_secret_value() for value in values if value is not None]
    if settings.capillary_password is not None:
        digest = hashlib.md5(settings.capillary_password.get_secret_value().encode("utf-8")).hexdigest()
        found.append(digest)
        if settings.capillary_username:
            found.append(base64.b64encode(f"{settings.capillary_username}:{digest}".encode()).decode("ascii"))
    return [value for value in found if value]


def configure_logging(level: str, secrets: Iterable[str] = (), *, stream: object = None,
                      fmt: Literal["text", "json"] = "text") -> None:
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    formatter: logging.Formatter = (JsonFormatter(secrets) if fmt == "json" else
                                    RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # Third-party request logs at DEBUG can echo headers; they pass through the same redaction.
    # httpx's own request lines carry query strings (customer mobiles and emails in the alert poll): our clients
    # log method, path, status and request id instead. The rest pass through the same redaction.
    # Alembic's INFO lines ("Context impl …", each revision run) would come at every start; the store logs one line
    # when it upgraded the schema (bot/services.py).
    for quiet in ("httpx", "httpcore", "alembic"):
        logging.getLogger(quiet).setLevel(logging.WARNING)
    for noisy in ("aiohttp.access", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.INFO))
