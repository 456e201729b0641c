"""Resending undelivered messages: parse the ids, guard against doing it twice, call Capillary, report.

The guard is a row per message id claimed atomically in the store, so two people (or two replicas) asking
for the same id at once cannot both resend it; an id resent in the last ten minutes needs an explicit
"resend anyway". All ids of a request are claimed in one statement.

Every id's outcome is written to the audit log (one row per id; the rows of one request share an attempt id), in
the same transaction as the outcome on its claim: a call to Capillary never ends without its audit row. Only a
crash in between leaves the claim ``pending``: its outcome unknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.actor import Actor
from bot.audit.log import AuditLog, AuditOutcome, audit_rows, note, write_rows
from bot.errors import UsageError
from bot.resend.claims import GUARD_WINDOW as GUARD_WINDOW  # the guard's windows, as they were named here
from bot.resend.claims import claim_parameters, claim_statement
from bot.store.engine import Store
from bot.store.tables import ResendClaim
from bot.store.writes import Rows
from bot.vendors.capillary import CapillaryClient, ResendResult
from bot.vendors.errors import VendorError
from bot.work import Lane, Ticket, Turns

log = logging.getLogger("commops.resend")

MAX_IDS = 50
_LONG_MAX = 2**63 - 1
_SEPARATORS = re.compile(r"[\s,;]+")
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() accepts "²", which int() refuses

USAGE = (
    "*Usage:* `/resend <messageId> [<messageId> …]`\n"
    f"Resends undelivered Capillary messages, up to {MAX_IDS} ids at a time, separated by spaces or commas.\n"
    "The ids are the message ids shown in Member Care → Communication, e.g. `/resend 1746061653596`.\n"
    "An id resent in the last 10 minutes is not resent again unless you click *Resend anyway*."
)


def parse_message_id(token: str) -> int:
    """One message id, by the one rule every input follows (command text, buttons, alerts): a whole number
    written in ASCII digits, positive and at most 2^63-1 (Capillary's long)."""
    cleaned = token.strip("`'\"")
    if _DIGITS.fullmatch(cleaned.lstrip("-+")) and cleaned.startswith("-"):
        raise UsageError(f"“{_clip(token)}” is not a message id: ids are positive whole numbers.")
    if not _DIGITS.fullmatch(cleaned.lstrip("+")):
        raise UsageError(f"“{_clip(token)}” is not a message id: ids are whole numbers like 1746061653596.")
    if len(cleaned.lstrip("+0")) > len(str(_LONG_MAX)) or not 0 < int(cleaned) <= _LONG_MAX:
        raise UsageError(f"“{_clip(token)}” is not a message id: ids are positive and at most {_LONG_MAX}.")
    return int(cleaned)


def parse_message_ids(text: str) -> list[int]:
    """The distinct message ids in ``text``, in the order given."""
    tokens = [token for token in _SEPARATORS.split(text.strip()) if token]
    if not tokens:
        raise UsageError("Give at least one message id.")
    ids: list[int] = []
    for token in tokens:
        value = parse_message_id(token)
        if value not in ids:
            ids.append(value)
    if len(ids) > MAX_IDS:
        raise UsageError(f"That is {len(ids)} ids; /resend takes at most {MAX_IDS} at a time. Split the list.")
    return ids


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _clip(token: str) -> str:
    return token if len(token) <= 40 else token[:37] + "…"


class ResendStatus(enum.StrEnum):
    RESENT = "resent"
    FAILED = "failed"
    DUPLICATE = "duplicate"  # resent recently: not sent again
    UNCERTAIN = "uncertain"  # the call may or may not have reached Capillary


@dataclass(frozen=True)
class PriorResend:
    user_id: str
    user_name: str
    at: datetime
    state: str
    resent_id: int | None
    version: int = 1  # the claim's attempt count: a "resend anyway" must name the version it overrides


@dataclass(frozen=True)
class ResendOutcome:
    message_id: int
    outcome: ResendStatus
    at: datetime
    result: ResendResult | None = None
    error: VendorError | None = None
    prior: PriorResend | None = None
    version: int | None = None  # this request's claim version, for a "resend anyway" of an uncertain result

    @property
    def blocking_version(self) -> int | None:
        """The claim version a "resend anyway" of this outcome has to override."""
        return self.prior.version if self.prior is not None else self.version


class ResendService:
    """Resends through ``turns`` (bot/work/turns.py): each id's call waits for a fair turn among everyone's work."""

    def __init__(
        self,
        capillary: CapillaryClient,
        store: Store,
        *,
        audit: AuditLog,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        turns: Turns | None = None,
    ) -> None:
        self._capillary = capillary
        self._store = store
        self._audit = audit
        self._clock = clock
        self._turns = turns or Turns()

    async def resend_many(
        self, message_ids: Iterable[int], actor: Actor, *, overriding: Mapping[int, int] | None = None,
        action: str = "resend", attempt_id: str | None = None, final_once_resent: bool = False,
        ticket: Ticket | None = None,
    ) -> list[ResendOutcome]:
        """Resend each id; one outcome per distinct id, in the order given.

        Every id is claimed in one statement (with the audit rows of those the guard refuses, in the same
        transaction); each claimed id is then sent in its turn, and its outcome settled on its claim together with
        its audit row, in one transaction. ``overriding`` maps ids to the claim version a person chose to "resend
        anyway": only that version is overridden, so a second click on the same button (or a stale copy of it)
        cannot resend again. ``action`` names it in the audit log (``alerts.resend`` for the alert's button);
        ``attempt_id`` ties the rows of one Slack request together. ``final_once_resent``: a resend (or an
        uncertain one) of any age blocks this one, not only a recent one; the alert buttons use it, leaving
        deliberate repeats to /resend and its "Resend anyway". ``ticket`` gets each id back as it is done.
        """
        ids = list(dict.fromkeys(message_ids))
        chosen = dict(overriding or {})
        started = time.perf_counter()
        now = self._clock()
        try:
            claims = await self._store.write(functools.partial(
                self._claim, ids=ids, actor=actor, now=now, overriding=chosen, final_once_resent=final_once_resent,
                action=action, attempt_id=attempt_id, started=started))
        except BaseException as error:
            if ticket is not None:
                ticket.close()
            interrupted = not isinstance(error, Exception)
            for message_id in ids:  # nothing was sent; say so, if the store takes it
                await asyncio.shield(self._audit.record(
                    action, AuditOutcome.ERROR, actor, arguments=_arguments(message_id, chosen),
                    error="interrupted before anything was sent" if interrupted else error,
                    error_code="interrupted" if interrupted else None, communication_id=message_id,
                    latency_ms=_ms_since(started), attempt_id=attempt_id))
            raise

        async def one(message_id: int) -> ResendOutcome:
            try:
                claim = claims[message_id]
                if isinstance(claim, PriorResend):
                    note(AuditOutcome.DUPLICATE)
                    return ResendOutcome(message_id, ResendStatus.DUPLICATE, now, prior=claim)
                return await self._send(message_id, claim, actor, force=message_id in chosen, action=action,
                                        attempt_id=attempt_id, started=started)
            finally:
                if ticket is not None:
                    ticket.done()

        return list(await asyncio.gather(*(one(message_id) for message_id in ids)))

    async def resend_one(
        self, message_id: int, actor: Actor, *, overriding: int | None = None, action: str = "resend",
        attempt_id: str | None = None, final_once_resent: bool = False,
    ) -> ResendOutcome:
        """One id, as :meth:`resend_many`."""
        (outcome,) = await self.resend_many(
            [message_id], actor, overriding={message_id: overriding} if overriding is not None else None,
            action=action, attempt_id=attempt_id, final_once_resent=final_once_resent)
        return outcome

    async def _send(self, message_id: int, version: int, actor: Actor, *, force: bool, action: str,
                    attempt_id: str | None, started: float) -> ResendOutcome:
        """Call Capillary for one claimed id in its turn; settle the claim and write the audit row together."""
        arguments = {"message_id": message_id, "force": force}
        called = False
        try:
            async with self._turns.turn(Lane.PEOPLE, actor.user_id):
                called = True  # from here on the request may reach Capillary
                result = await self._capillary.resend(message_id)
        except VendorError as error:
            state = "uncertain" if error.maybe_applied else "failed"
            row = self._audit.row(action, AuditOutcome.VENDOR_ERROR, actor, arguments=arguments, error=error,
                                  communication_id=message_id, latency_ms=_ms_since(started), attempt_id=attempt_id)
            note(AuditOutcome.VENDOR_ERROR)
            await self._settle(message_id, version, state, row, detail=error.sentence)
            log.info("resend %s by %s: %s (%s)", message_id, actor.user_id, state, error.kind)
            outcome = ResendStatus.UNCERTAIN if error.maybe_applied else ResendStatus.FAILED
            return ResendOutcome(message_id, outcome, self._clock(), error=error, version=version)
        except BaseException as error:
            interrupted = not isinstance(error, Exception)
            row = self._audit.row(
                action, AuditOutcome.ERROR, actor, arguments=arguments,
                error="interrupted before the outcome was known" if interrupted else error,
                error_code="interrupted" if interrupted else None, communication_id=message_id,
                latency_ms=_ms_since(started), attempt_id=attempt_id)
            note(AuditOutcome.ERROR)
            # Not sent at all: the claim is free again. Maybe sent: its outcome is unknown.
            settling = self._settle(message_id, version, "uncertain" if called else "failed", row,
                                    detail="interrupted" if interrupted else type(error).__name__)
            with contextlib.suppress(Exception):
                await asyncio.shield(settling)
            raise
        row = self._audit.row(action, AuditOutcome.OK, actor, arguments=arguments, org_id=result.org_id,
                              communication_id=message_id, resent_id=result.resent_message_id,
                              request_id=result.request_id, latency_ms=_ms_since(started), attempt_id=attempt_id)
        note(AuditOutcome.OK)
        await self._settle(message_id, version, "resent", row, org_id=result.org_id,
                           resent_id=result.resent_message_id)
        log.info("resend %s by %s: resent as %s", message_id, actor.user_id, result.resent_message_id)
        return ResendOutcome(message_id, ResendStatus.RESENT, self._clock(), result=result)

    async def _claim(
        self, session: AsyncSession, *, ids: Sequence[int], actor: Actor, now: datetime,
        overriding: Mapping[int, int], final_once_resent: bool, action: str, attempt_id: str | None, started: float,
    ) -> dict[int, int | PriorResend]:
        """Take every id for this resend in one statement: each claimed id's claim version, or what blocks it (whose
        audit row is written here, in the same transaction)."""
        if not ids:
            return {}
        statement = claim_statement(len(ids), final_once_resent=final_once_resent, overriding=len(overriding))
        answered = await session.execute(statement, claim_parameters(ids, actor, now, overriding))
        claims: dict[int, int | PriorResend] = {int(message_id): int(attempts) for message_id, attempts in answered}
        blocked = [message_id for message_id in ids if message_id not in claims]
        if not blocked:
            return claims
        rows = (await session.execute(select(ResendClaim).where(ResendClaim.message_id.in_(blocked)))).scalars()
        refused = []
        for row in rows:
            prior = PriorResend(row.user_id, row.user_name, row.claimed_at, row.state, row.resent_id, row.attempts)
            claims[row.message_id] = prior
            refused.append(self._audit.row(
                action, AuditOutcome.DUPLICATE, actor, arguments=_arguments(row.message_id, overriding),
                error_code=f"guard:{prior.state}",
                error=f"not resent: {prior.state} by {prior.user_id} at {prior.at.isoformat()}",
                communication_id=row.message_id, resent_id=prior.resent_id, latency_ms=_ms_since(started),
                attempt_id=attempt_id))
        await write_rows(session, refused)
        return claims

    async def _settle(self, message_id: int, version: int, state: str, row: dict[str, Any], *,
                      org_id: int | None = None, resent_id: int | None = None, detail: str | None = None) -> None:
        """Record the outcome on our own claim only (a later claim may have taken over a stale one), and its audit
        row, in one transaction. A store that refuses leaves the audit row in the log (AuditLog.lost)."""
        settled = {"b_message_id": message_id, "b_version": version, "b_state": state, "b_org_id": org_id,
                   "b_resent_id": resent_id, "b_detail": detail}
        try:
            await self._store.write_rows(Rows(_SETTLE, [settled]), audit_rows([row]))
        except Exception as failure:
            AuditLog.lost(row, failure)


_CLAIMS = cast(Table, ResendClaim.__table__)
# One statement object for every settle, so the store's group writer sends a group's settles in one executemany.
_SETTLE = update(_CLAIMS).where(
    _CLAIMS.c.message_id == bindparam("b_message_id"), _CLAIMS.c.attempts == bindparam("b_version"),
).values(state=bindparam("b_state"), org_id=bindparam("b_org_id"), resent_id=bindparam("b_resent_id"),
         detail=bindparam("b_detail"))


def _arguments(message_id: int, overriding: Mapping[int, int]) -> dict[str, Any]:
    return {"message_id": message_id, "force": message_id in overriding}


def anyway_value(items: Iterable[tuple[int, int]]) -> str:
    """A "Resend anyway" button's value: each id with the claim version it overrides (``id@version``)."""
    return ",".join(f"{message_id}@{version}" for message_id, version in items)


def parse_anyway_value(value: str) -> dict[int, int]:
    """The ids and versions of a "Resend anyway" button; UsageError when it is not one of ours."""
    chosen: dict[int, int] = {}
    parts = value.split(",")
    if len(parts) > MAX_IDS:
        raise UsageError("That button carries no valid message ids.")
    for part in parts:
        message_id, _, version = part.partition("@")
        # Exactly as anyway_value writes them: a second spelling (a leading zero) is not one of ours.
        if not (_DIGITS.fullmatch(message_id) and _DIGITS.fullmatch(version)) or len(version) > 9 \
                or version.startswith("0") or message_id.startswith("0"):
            raise UsageError("That button carries no valid message ids.")
        chosen[parse_message_id(message_id)] = int(version)
    return chosen
