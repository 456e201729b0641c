"""Resending undelivered messages: parse the ids, guard against doing it twice, call Capillary, report.

The guard is a row per message id claimed atomically in the store, so two people (or two replicas) asking
for the same id at once cannot both resend it; an id resent in the last ten minutes needs an explicit
"resend anyway".

Every id's outcome is written to the audit log (one row per id; the rows of one request share an attempt id).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select

from bot.actor import Actor
from bot.audit.log import AuditLog, AuditOutcome
from bot.errors import UsageError
from bot.store.engine import Store
from bot.store.inserts import insert
from bot.store.tables import ResendClaim
from bot.vendors.capillary import CapillaryClient, ResendResult
from bot.vendors.errors import VendorError

log = logging.getLogger("commops.resend")

MAX_IDS = 50
GUARD_WINDOW = timedelta(minutes=10)
# A claim left "pending" by a crash can be overridden after this: longer than any call can be in flight
# (the longest CAPILLARY_TIMEOUT_SECONDS plus the longest rate-limit back-off).
STALE_PENDING = timedelta(minutes=10)
CONCURRENCY = 8
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
    def __init__(
        self,
        capillary: CapillaryClient,
        store: Store,
        *,
        audit: AuditLog,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        concurrency: int = CONCURRENCY,
    ) -> None:
        self._capillary = capillary
        self._store = store
        self._audit = audit
        self._clock = clock
        self._concurrency = concurrency

    async def resend_many(
        self, message_ids: Iterable[int], actor: Actor, *, overriding: Mapping[int, int] | None = None,
        action: str = "resend", attempt_id: str | None = None,
    ) -> list[ResendOutcome]:
        """Resend each id (bounded concurrency); one outcome per id, in the order given.

        ``overriding`` maps ids to the claim version a person chose to "resend anyway": only that version is
        overridden, so a second click on the same button (or a stale copy of it) cannot resend again.
        ``action`` names it in the audit log (``alerts.resend`` for the alert's button); ``attempt_id`` ties the
        rows of one Slack request together.
        """
        gate = asyncio.Semaphore(self._concurrency)
        chosen = overriding or {}

        async def one(message_id: int) -> ResendOutcome:
            async with gate:
                return await self.resend_one(message_id, actor, overriding=chosen.get(message_id), action=action,
                                             attempt_id=attempt_id)

        return list(await asyncio.gather(*(one(message_id) for message_id in message_ids)))

    async def resend_one(
        self, message_id: int, actor: Actor, *, overriding: int | None = None, action: str = "resend",
        attempt_id: str | None = None, final_once_resent: bool = False,
    ) -> ResendOutcome:
        """``final_once_resent``: a resend (or an uncertain one) of any age blocks this one, not only a recent
        one; the alert buttons use it, leaving deliberate repeats to /resend and its "Resend anyway"."""
        started = time.perf_counter()
        force = overriding is not None
        try:
            outcome = await self._resend(message_id, actor, overriding=overriding,
                                         final_once_resent=final_once_resent)
        except BaseException as error:
            interrupted = not isinstance(error, Exception)
            await asyncio.shield(self._audit.record(
                action, AuditOutcome.ERROR, actor, arguments={"message_id": message_id, "force": force},
                error="interrupted before the outcome was known" if interrupted else error,
                error_code="interrupted" if interrupted else None, communication_id=message_id,
                latency_ms=_ms_since(started), attempt_id=attempt_id,
            ))
            raise
        await self._record(outcome, actor, action=action, force=force, attempt_id=attempt_id,
                           latency_ms=_ms_since(started))
        return outcome

    async def _record(self, item: ResendOutcome, actor: Actor, *, action: str, force: bool, attempt_id: str | None,
                      latency_ms: float) -> None:
        arguments = {"message_id": item.message_id, "force": force}
        if item.outcome is ResendStatus.RESENT and item.result is not None:
            await self._audit.record(
                action, AuditOutcome.OK, actor, arguments=arguments, org_id=item.result.org_id,
                communication_id=item.message_id, resent_id=item.result.resent_message_id,
                request_id=item.result.request_id, latency_ms=latency_ms, attempt_id=attempt_id,
            )
        elif item.outcome is ResendStatus.DUPLICATE and item.prior is not None:
            prior = item.prior
            await self._audit.record(
                action, AuditOutcome.DUPLICATE, actor, arguments=arguments, error_code=f"guard:{prior.state}",
                error=f"not resent: {prior.state} by {prior.user_id} at {prior.at.isoformat()}",
                communication_id=item.message_id, resent_id=prior.resent_id, latency_ms=latency_ms,
                attempt_id=attempt_id,
            )
        else:
            await self._audit.record(
                action, AuditOutcome.VENDOR_ERROR, actor, arguments=arguments, error=item.error,
                error_code=None if item.error is not None else "unknown", communication_id=item.message_id,
                latency_ms=latency_ms, attempt_id=attempt_id,
            )

    async def _resend(self, message_id: int, actor: Actor, *, overriding: int | None,
                      final_once_resent: bool) -> ResendOutcome:
        now = self._clock()
        claimed = await self._claim(message_id, actor, now, overriding=overriding,
                                    final_once_resent=final_once_resent)
        if isinstance(claimed, PriorResend):
            return ResendOutcome(message_id, ResendStatus.DUPLICATE, now, prior=claimed)
        version = claimed
        try:
            result = await self._capillary.resend(message_id)
        except VendorError as error:
            state = "uncertain" if error.maybe_applied else "failed"
            await self._settle(message_id, version, state, detail=error.sentence)
            log.info("resend %s by %s: %s (%s)", message_id, actor.user_id, state, error.kind)
            outcome = ResendStatus.UNCERTAIN if error.maybe_applied else ResendStatus.FAILED
            return ResendOutcome(message_id, outcome, self._clock(), error=error, version=version)
        except BaseException:
            await asyncio.shield(self._settle(message_id, version, "uncertain", detail="interrupted"))
            raise
        await self._settle(message_id, version, "resent", org_id=result.org_id, resent_id=result.resent_message_id)
        log.info("resend %s by %s: resent as %s", message_id, actor.user_id, result.resent_message_id)
        return ResendOutcome(message_id, ResendStatus.RESENT, self._clock(), result=result)

    async def _claim(self, message_id: int, actor: Actor, now: datetime, *, overriding: int | None,
                     final_once_resent: bool) -> int | PriorResend:
        """Take the message for this resend (returns the claim's version), or return what blocks it."""
        values = {
            "message_id": message_id, "state": "pending", "user_id": actor.user_id, "user_name": actor.user_name,
            "claimed_at": now, "org_id": None, "resent_id": None, "attempts": 1, "detail": None,
        }
        cutoff = now - GUARD_WINDOW
        stale = ResendClaim.claimed_at < now - STALE_PENDING
        if final_once_resent:
            takeover = [ResendClaim.state == "failed", (ResendClaim.state == "pending") & stale]
        else:
            takeover = [ResendClaim.claimed_at < cutoff, ResendClaim.state == "failed"]
        if overriding is not None:
            # Only the version the person saw is overridden; never two resends of one id in flight, but a claim
            # left pending by a crash is fair game after a while.
            takeover.append((ResendClaim.attempts == overriding) & ((ResendClaim.state != "pending") | stale))
        update = {key: value for key, value in values.items() if key not in ("message_id", "attempts")}
        update["attempts"] = ResendClaim.attempts + 1
        statement = insert(self._store, ResendClaim).values(**values).on_conflict_do_update(
            index_elements=["message_id"], set_=update, where=or_(*takeover)
        ).returning(ResendClaim.attempts)
        async with self._store.session() as session, session.begin():
            claimed = (await session.execute(statement)).first()
            if claimed is not None:
                return int(claimed[0])
            row = (await session.execute(select(ResendClaim).where(ResendClaim.message_id == message_id))).scalar_one()
            return PriorResend(row.user_id, row.user_name, row.claimed_at, row.state, row.resent_id, row.attempts)

    async def _settle(
        self, message_id: int, version: int, state: str, *, org_id: int | None = None,
        resent_id: int | None = None, detail: str | None = None,
    ) -> None:
        """Record the outcome on our own claim only (a later claim may have taken over a stale one)."""
        async with self._store.session() as session, session.begin():
            row = await session.get(ResendClaim, message_id)
            if row is not None and row.attempts == version:
                row.state, row.org_id, row.resent_id, row.detail = state, org_id, resent_id, detail


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
