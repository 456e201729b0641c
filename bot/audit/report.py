"""``commops audit``: reading the audit log's filters and printing its rows as a table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.audit.log import AuditEntry

_DURATION = re.compile(r"(\d+)\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
FORMATS = ("table", "csv", "json")


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


def render(entries: Sequence[AuditEntry], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([{name: _json_value(getattr(entry, name)) for name in AuditEntry.columns()}
                           for entry in entries], ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(AuditEntry.columns())
        for entry in entries:
            writer.writerow([_cell(getattr(entry, name)) for name in AuditEntry.columns()])
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
        rows.append([_cell(entry.at).replace("T", " "), user, entry.action, entry.outcome,
                     entry.channel_id or "", ids, _clip(detail, 80)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = ["  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]).rstrip()
             for row in rows]
    return "\n".join(lines) + "\n"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
