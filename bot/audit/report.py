"""``commops audit``: reading the audit log's filters and printing its rows as a table, CSV or JSON.

The rows hold what users and vendors wrote (user names, command arguments, error texts), so each format is made
safe for where it is read: CSV cells that a spreadsheet would run as a formula are neutralised (OWASP's advice: a
leading ``'``), the table shows control characters as escapes (a newline in a user name cannot print a fake row,
nor an escape sequence repaint the terminal), and JSON stays exact, for programs.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.audit.log import AuditEntry

_DURATION = re.compile(r"(\d+)\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
FORMATS = ("table", "csv", "json")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SHOWN_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Unicode's format characters that reorder text (bidirectional overrides and isolates) mislead as much as controls.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def parse_since(text: str, now: datetime) -> datetime:
    """``24h``, ``7d``, ``30m``, ``2w`` before ``now``; or a date (``2026-11-01``, midnight UTC) or an ISO time
    (``2026-11-01T08:00``, UTC unless it carries an offset). ValueError says what is accepted."""
    value = text.strip()
    found = _DURATION.fullmatch(value.lower())
    if found:
        return now - timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected a date (2026-11-01), a time (2026-11-01T08:00) or an age (24h, 7d, 30m), "
                         f"got {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def csv_cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: one that starts like a formula gets a leading ``'``."""
    text = _cell(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def visible(text: str) -> str:
    """``text`` for a terminal: newlines, tabs, other control characters and text-reordering marks as escapes
    (``\\n``, ``\\x1b``, ``\\u202e``), so every row prints on one line and as written."""
    out = []
    for char in text:
        if char in _SHOWN_ESCAPES:
            out.append(_SHOWN_ESCAPES[char])
        elif unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in _BIDI:
            out.append(f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def render(entries: Sequence[AuditEntry], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([{name: _json_value(getattr(entry, name)) for name in AuditEntry.columns()}
                           for entry in entries], ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        # CRLF ends a row, as RFC 4180 has it; it also makes the writer quote a cell holding a lone CR, which a
        # reader would otherwise take for the end of the row.
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(AuditEntry.columns())
        for entry in entries:
            writer.writerow([csv_cell(getattr(entry, name)) for name in AuditEntry.columns()])
        return out.getvalue()
    return _table(entries)


def _json_value(value: Any) -> Any:
    return _cell(value) if isinstance(value, datetime) else value


def _table(entries: Sequence[AuditEntry]) -> str:
    """A compact view for a terminal: the columns an auditor scans first; CSV and JSON have them all."""
    if not entries:
        return "no audit entries match\n"
    header = ["time (UTC)", "user", "action", "outcome", "channel", "ids", "detail"]
    rows = [header]
    for entry in entries:
        ids = " ".join(part for part in (
            f"msg={entry.communication_id}" if entry.communication_id else "",
            f"resent={entry.resent_id}" if entry.resent_id else "",
            f"campaign={entry.campaign_id}" if entry.campaign_id else "",
            f"req={entry.request_id}" if entry.request_id else "",
        ) if part)
        detail = " ".join(part for part in (entry.error_code or "", entry.error or "") if part)
        if not detail and not ids and entry.arguments:
            detail = _cell(entry.arguments)
        user = f"{entry.user_id} {entry.user_name}".strip()
        cells = [_cell(entry.at).replace("T", " "), user, entry.action, entry.outcome, entry.channel_id or "", ids]
        rows.append([*(visible(cell) for cell in cells), _clip(visible(detail), 80)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = ["  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]).rstrip()
             for row in rows]
    return "\n".join(lines) + "\n"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
