"""``commops alerts import FILE``: an export of undelivered messages into the alert outbox.

The file is CSV with a header row, or JSON lines (one object a line); see the README for the columns and time
formats. Each bad row is reported by line number and skipped; the good rows are queued in batches as they are
read, so a bad row never costs a good one and a large export never sits in memory whole.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, TextIO

from bot.alerts.domain import Candidate, normalise_status, parse_sent_date, undelivered_statuses
from bot.alerts.outbox import BATCH, Outbox
from bot.alerts.watchlist import Problem

_LONG_MAX = 2**63 - 1
# Column names, lower-cased, each with the spellings accepted for it (the API's and the data export's).
COLUMNS: dict[str, tuple[str, ...]] = {
    "message_id": ("message_id", "messageid", "id"),
    "channel": ("channel", "type"),
    "receiver": ("receiver", "recipient", "mobile", "email"),
    "status": ("status", "delivery_status"),
    "sent_at": ("sent_at", "sentdate", "sent_date", "sent_time", "sent"),
}
OPTIONAL = ("customer",)


@dataclass
class ImportReport:
    rows: int = 0
    added: int = 0
    known: int = 0  # already in the outbox (alerted or queued before): not queued again
    problems: list[Problem] = field(default_factory=list)


def parse_time(text: str, zone: tzinfo) -> datetime:
    """ISO 8601 with an offset; ISO 8601 or ``DD-MM-YYYY HH:mm:ss`` without one (cluster time, ``zone``); or
    Unix epoch seconds or milliseconds."""
    value = text.strip()
    if value.isdecimal():
        number = int(value)
        return datetime.fromtimestamp(number / 1000 if number > 10**11 else number, UTC)
    sent = parse_sent_date(value, zone)
    if sent is not None:
        return sent
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise ValueError(f"sent time {value[:40]!r} is not ISO 8601, DD-MM-YYYY HH:mm:ss or epoch") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _field(row: Mapping[str, Any], name: str) -> str:
    for key in COLUMNS[name]:
        value = row.get(key)
        if value is not None and str(value).strip():
            return str(value).strip()
    raise ValueError(f"{name} is missing (column {' or '.join(COLUMNS[name])})")


def parse_row(row: Mapping[str, Any], *, statuses: dict[str, str], zone: tzinfo) -> Candidate:
    """One export row as a candidate alert; ValueError says what is wrong with it."""
    lowered = {str(key).strip().lower(): value for key, value in row.items() if key is not None}
    raw_id = _field(lowered, "message_id")
    if not raw_id.isdecimal() or not 0 < int(raw_id) <= _LONG_MAX:
        raise ValueError(f"message id {raw_id[:30]!r} is not a positive whole number")
    given = _field(lowered, "status")
    status = statuses.get(normalise_status(given))
    if status is None:
        raise ValueError(f"status {given[:30]} is not one of ALERT_STATUSES ({', '.join(statuses.values())})")
    customer = lowered.get("customer")
    return Candidate(int(raw_id), _field(lowered, "channel").lower(), _field(lowered, "receiver"), status,
                     parse_time(_field(lowered, "sent_at"), zone), "import",
                     str(customer) if customer not in (None, "") else None)


def _rows(handle: TextIO) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
    """(line number, row or the reason it is unreadable), for CSV with a header or JSON lines."""
    first = handle.readline()
    handle.seek(0)
    if first.lstrip().startswith("{"):
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError:
                yield number, "not a JSON object"
                continue
            yield number, data if isinstance(data, dict) else "not a JSON object"
        return
    reader = csv.DictReader(handle)
    if reader.fieldnames is None:
        return
    missing = [name for name, keys in COLUMNS.items()
               if not {key.strip().lower() for key in reader.fieldnames} & set(keys)]
    if missing:
        yield 1, f"the header lacks {', '.join(missing)} (found {', '.join(reader.fieldnames)})"
        return
    ended = reader.line_num
    for record in reader:
        start, ended = ended + 1, reader.line_num  # a quoted field may span lines: report where the row starts
        if None in record:
            yield start, "more fields than the header has"
            continue
        yield start, record


async def import_file(path: Path, outbox: Outbox, *, statuses: tuple[str, ...], zone: tzinfo,
                      now: datetime) -> ImportReport:
    report = ImportReport()
    accepted = undelivered_statuses(statuses)
    batch: list[Candidate] = []

    async def flush() -> None:
        added = await outbox.enqueue(batch, now)
        report.added += added
        report.known += len(batch) - added
        batch.clear()

    with path.open(encoding="utf-8-sig", newline="") as handle:
        for number, row in _rows(handle):
            report.rows += 1
            if isinstance(row, str):
                report.problems.append(Problem(number, row))
                continue
            try:
                batch.append(parse_row(row, statuses=accepted, zone=zone))
            except ValueError as error:
                report.problems.append(Problem(number, str(error)))
                continue
            if len(batch) >= BATCH:
                await flush()
    if batch:
        await flush()
    return report
