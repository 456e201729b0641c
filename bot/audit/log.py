"""The audit log: every attempt at an action, allowed or denied, one row each, in the store.

Who writes what:
- the access middleware (handlers/middleware/authorize.py) writes every denial;
- the service that does the work writes the outcome of every allowed attempt. A multi-id ``/resend`` writes
  one row per message id (each id has its own outcome, vendor ids and latency); the rows of one Slack request
  share an ``attempt_id``.

The log is append-only: :class:`AuditLog` has no update or delete, and the table's triggers refuse both.
Arguments and error texts pass through the same redaction as the logs, so no credential can land here.
"""

from __future__ import annotations

import enum
import itertools
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.actor import Actor
from bot.audit.throttle import DenialThrottle
from bot.logs import redact
from bot.observability.context import note_outcome
from bot.store.engine import Store
from bot.store.tables import AuditRecord
from bot.store.writes import Rows
from bot.vendors.errors import VendorError
from bot.work import Busy

log = logging.getLogger("commops.audit")

MAX_VALUE = 500  # characters kept of any one argument value
MAX_ERROR = 1000


class AuditOutcome(enum.StrEnum):
    OK = "ok"
    DENIED = "denied"  # the access policy said no; nothing was called
    INVALID = "invalid"  # the request did not make sense (bad ids, unknown sub-command); nothing was called
    DUPLICATE = "duplicate"  # refused by a guard (resent recently); nothing was called
    BUSY = "busy"  # refused because the bot had as much pending work as it takes on; nothing was called
    VENDOR_ERROR = "vendor_error"  # the vendor answered with an error, or not at all (error_code says which)
    ERROR = "error"  # our own failure


# What each outcome counts as in the request metrics (commops_requests_total's ok, denied, invalid, error): a
# request refused for what it asked (bad input, a guard) is invalid; any failure, the vendor's or ours, an error.
METRIC_OUTCOME = {
    AuditOutcome.OK: "ok", AuditOutcome.DENIED: "denied", AuditOutcome.INVALID: "invalid",
    AuditOutcome.DUPLICATE: "invalid", AuditOutcome.BUSY: "busy", AuditOutcome.VENDOR_ERROR: "error",
    AuditOutcome.ERROR: "error",
}


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    user_id: str
    user_name: str
    team_id: str | None
    channel_id: str | None
    action: str
    outcome: str
    arguments: dict[str, Any]
    error_code: str | None
    error: str | None
    org_id: int | None
    communication_id: str | None
    resent_id: str | None
    campaign_id: str | None
    request_id: str | None
    latency_ms: int | None
    attempt_id: str | None

    @classmethod
    def columns(cls) -> list[str]:
        return [item.name for item in fields(cls)]

    @classmethod
    def of(cls, row: AuditRecord) -> AuditEntry:
        try:
            arguments = json.loads(row.arguments)
        except ValueError:
            arguments = {"unreadable": row.arguments}
        values = {name: getattr(row, name) for name in cls.columns() if name != "arguments"}
        return cls(arguments=arguments if isinstance(arguments, dict) else {"value": arguments}, **values)


def note(outcome: AuditOutcome) -> None:
    """Note ``outcome`` into the request being served (what it counts as in the metrics)."""
    note_outcome(METRIC_OUTCOME.get(outcome, "error"))


# Attempt ids: 32 hex digits, a random half for the process and a counting half, so ids of different processes
# never meet and making one costs no system call (uuid4 reads the kernel's random source every time).
_PROCESS = secrets.token_hex(8)
_ATTEMPTS = itertools.count(secrets.randbelow(2**48))


def new_attempt_id() -> str:
    return f"{_PROCESS}{next(_ATTEMPTS) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


def error_code_of(error: VendorError) -> str:
    """``kind`` or ``kind:code``, e.g. ``not_found:4223``, ``unavailable:503``, ``timeout``."""
    code = error.code if error.code is not None else error.http_status
    return f"{error.kind}:{code}" if code is not None else error.kind


class AuditLog:
    def __init__(self, store: Store, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 secrets: Iterable[str] = (), denials: DenialThrottle | None = None) -> None:
        self._store = store
        self._clock = clock
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._denials = denials or DenialThrottle(clock=time.monotonic)
        self._busy = DenialThrottle(clock=time.monotonic, what="answered busy")

    async def record_denial(self, action: str, actor: Actor, *, arguments: Mapping[str, Any] | None = None,
                            error_code: str | None = None, error: str | None = None,
                            attempt_id: str | None = None) -> bool:
        """A denial, within the per-user bound of :class:`DenialThrottle`; False when it was only counted."""
        left_out = self._denials.admit(actor.user_id)
        if left_out is None:
            return False
        if left_out:
            arguments = {**(arguments or {}), "denials_not_written_before": left_out}
        return await self.record(action, AuditOutcome.DENIED, actor, arguments=arguments, error_code=error_code,
                                 error=error, attempt_id=attempt_id)

    async def record_busy(self, action: str, actor: Actor, busy: Busy, *,
                          arguments: Mapping[str, Any] | None = None, attempt_id: str | None = None) -> bool:
        """A request refused because the bot was busy, within the same per-user bound as denials (a flood of them
        must not become a flood of rows); False when it was only counted."""
        note(AuditOutcome.BUSY)
        left_out = self._busy.admit(actor.user_id)
        if left_out is None:
            return False
        details = {**(arguments or {}), "pending_yours": busy.mine, "pending_all": busy.total}
        if left_out:
            details["busy_not_written_before"] = left_out
        return await self.record(action, AuditOutcome.BUSY, actor, arguments=details, error_code="busy",
                                 error=f"{busy.mine} of the user's calls and {busy.total} in all were pending",
                                 attempt_id=attempt_id)

    async def record(
        self,
        action: str,
        outcome: AuditOutcome,
        actor: Actor,
        *,
        arguments: Mapping[str, Any] | None = None,
        error: VendorError | BaseException | str | None = None,
        error_code: str | None = None,
        org_id: int | None = None,
        communication_id: str | int | None = None,
        resent_id: str | int | None = None,
        campaign_id: str | int | None = None,
        request_id: str | None = None,
        latency_ms: float | None = None,
        attempt_id: str | None = None,
    ) -> bool:
        """Append one row; False (and an ERROR log line with the row's gist) when the store refused it.

        Never raises: a failed audit write must not hide from the user what the vendor already did.
        """
        note(outcome)
        row = self.row(action, outcome, actor, arguments=arguments, error=error, error_code=error_code, org_id=org_id,
                       communication_id=communication_id, resent_id=resent_id, campaign_id=campaign_id,
                       request_id=request_id, latency_ms=latency_ms, attempt_id=attempt_id)
        try:
            await self._store.write_rows(audit_rows([row]))
        except Exception as failure:  # the log line is then the only trace: make it complete
            self.lost(row, failure)
            return False
        return True

    def row(
        self,
        action: str,
        outcome: AuditOutcome,
        actor: Actor,
        *,
        arguments: Mapping[str, Any] | None = None,
        error: VendorError | BaseException | str | None = None,
        error_code: str | None = None,
        org_id: int | None = None,
        communication_id: str | int | None = None,
        resent_id: str | int | None = None,
        campaign_id: str | int | None = None,
        request_id: str | None = None,
        latency_ms: float | None = None,
        attempt_id: str | None = None,
    ) -> dict[str, Any]:
        """The column values of one row, redacted and clipped, for :func:`write_rows` (in a transaction of the
        caller's, e.g. with the change it records). The caller notes the outcome into its request (:func:`note`)."""
        text: str | None = None
        if isinstance(error, VendorError):
            text, error_code = error.sentence, error_code or error_code_of(error)
            request_id = request_id or error.request_id
        elif isinstance(error, BaseException):
            text, error_code = f"{type(error).__name__}: {error}", error_code or type(error).__name__
        elif error is not None:
            text = error
        return {
            "at": self._clock(), "user_id": actor.user_id[:32], "user_name": actor.user_name[:128],
            "team_id": actor.team_id, "channel_id": actor.channel_id, "action": action[:64], "outcome": str(outcome),
            "arguments": self._redact(json.dumps(_clipped(arguments or {}), ensure_ascii=False, default=str)),
            "error_code": error_code[:64] if error_code else None,
            "error": self._redact(text)[:MAX_ERROR] if text else None,
            "org_id": org_id, "communication_id": _text(communication_id), "resent_id": _text(resent_id),
            "campaign_id": _text(campaign_id), "request_id": request_id[:128] if request_id else None,
            "latency_ms": round(latency_ms) if latency_ms is not None else None, "attempt_id": attempt_id,
        }

    @staticmethod
    def lost(row: Mapping[str, Any], failure: BaseException) -> None:
        """The one trace of a row the store refused: an ERROR line with its gist."""
        log.error("could not write the audit row (%s): %s %s by %s, arguments %s, ids %s/%s/%s",
                  type(failure).__name__, row["action"], row["outcome"], row["user_id"], row["arguments"],
                  row["communication_id"], row["resent_id"], row["campaign_id"])

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    async def query(
        self,
        *,
        since: datetime | None = None,
        users: Sequence[str] = (),
        actions: Sequence[str] = (),
        limit: int | None = 100,
    ) -> list[AuditEntry]:
        """The most recent ``limit`` rows (None: all) that match, oldest first. ``actions`` may hold patterns
        such as ``campaign.*``."""
        statement = select(AuditRecord).order_by(AuditRecord.id.desc())
        if since is not None:
            statement = statement.where(AuditRecord.at >= since)
        if users:
            statement = statement.where(AuditRecord.user_id.in_(list(users)))
        if actions and "*" not in actions:
            conditions = [AuditRecord.action.like(pattern[:-1] + "%") if pattern.endswith(".*")
                          else AuditRecord.action == pattern for pattern in actions]
            statement = statement.where(or_(*conditions))
        if limit is not None:
            statement = statement.limit(limit)
        async with self._store.session() as session:
            rows = (await session.execute(statement)).scalars().all()
        return [AuditEntry.of(row) for row in reversed(rows)]

    async def latest(
        self,
        actions: Sequence[str],
        *,
        campaign_id: str | None = None,
        communication_id: str | None = None,
        outcomes: Sequence[AuditOutcome] = (AuditOutcome.OK,),
        where: Callable[[AuditEntry], bool] | None = None,
        scan: int = 200,
    ) -> AuditEntry | None:
        """The newest row of one of ``actions`` (exact names) with one of ``outcomes``, about that campaign or
        communication, that ``where`` accepts (looking at the newest ``scan`` such rows): who last changed it."""
        statement = select(AuditRecord).where(
            AuditRecord.action.in_(list(actions)), AuditRecord.outcome.in_([str(item) for item in outcomes]),
        ).order_by(AuditRecord.id.desc()).limit(scan)
        if campaign_id is not None:
            statement = statement.where(AuditRecord.campaign_id == _text(campaign_id))
        if communication_id is not None:  # one id, or one of a comma-separated list (a multi-item upsert)
            wanted = str(communication_id)
            column = AuditRecord.communication_id
            statement = statement.where(or_(column == wanted, column.like(f"{wanted},%"), column.like(f"%,{wanted}"),
                                            column.like(f"%,{wanted},%")))
        async with self._store.session() as session:
            rows = (await session.execute(statement)).scalars().all()
        for row in rows:
            entry = AuditEntry.of(row)
            if where is None or where(entry):
                return entry
        return None


_INSERT = insert(cast(Table, AuditRecord.__table__))


def audit_rows(rows: Sequence[Mapping[str, Any]]) -> Rows:
    """Audit rows made by :meth:`AuditLog.row`, for :meth:`Store.write_rows` (inserted with the group's others)."""
    return Rows(_INSERT, rows)


async def write_rows(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert audit rows made by :meth:`AuditLog.row`, in ``session``'s transaction."""
    if rows:
        await session.execute(_INSERT, list(rows))


def _clipped(arguments: Mapping[str, Any]) -> dict[str, Any]:
    def clip(value: Any) -> Any:
        if isinstance(value, str) and len(value) > MAX_VALUE:
            return value[:MAX_VALUE] + "…"
        if isinstance(value, list | tuple):
            return [clip(item) for item in value[:100]]
        if isinstance(value, Mapping):
            return {str(key): clip(item) for key, item in list(value.items())[:50]}
        return value

    return {str(key): clip(value) for key, value in arguments.items()}


def _text(value: str | int | None) -> str | None:
    return None if value is None else str(value)[:64]
