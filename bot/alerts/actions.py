"""Acting on an alert: Resend and Resend all, through ResendService (its duplicate guard and audit rows) and the
outbox (which remembers, per item, who resent it, when, and the new id, so the digest can show it)."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from bot.actor import Actor
from bot.alerts.domain import DigestItem
from bot.alerts.outbox import Outbox, as_item
from bot.resend.service import PriorResend, ResendService, ResendStatus
from bot.store.engine import Store
from bot.store.tables import AlertItem

ACTION = "alerts.resend"
CONCURRENCY = 8


class Result(enum.StrEnum):
    RESENT = "resent"
    FAILED = "failed"  # failed, or its outcome is unknown: the item says why
    ALREADY = "already"  # resent before (from this alert or by /resend): not sent again
    BUSY = "busy"  # someone else's resend of it is in progress or unsettled: not sent
    UNKNOWN = "unknown"  # not an alert the bot posted


@dataclass(frozen=True)
class ItemResult:
    message_id: int
    result: Result
    item: DigestItem | None = None  # the item as it now stands
    prior: PriorResend | None = None


class AlertActions:
    def __init__(self, store: Store, resend: ResendService, *, concurrency: int = CONCURRENCY) -> None:
        self.outbox = Outbox(store)
        self._resend = resend
        self._concurrency = concurrency

    async def resend(self, message_ids: Sequence[int], actor: Actor, *, attempt_id: str | None = None
                     ) -> list[ItemResult]:
        rows = await self.outbox.items(message_ids)
        return await self._resend_rows([rows.get(message_id) for message_id in message_ids], message_ids, actor,
                                       attempt_id)

    async def resend_digest(self, digest_id: str, actor: Actor, *, attempt_id: str | None = None
                            ) -> tuple[list[ItemResult], list[AlertItem]]:
        """Every item of one digest; returns the results and the digest's rows as they now stand."""
        rows = await self.outbox.digest_items(digest_id)
        results = await self._resend_rows(list(rows), [row.message_id for row in rows], actor, attempt_id)
        return results, await self.outbox.digest_items(digest_id)

    async def _resend_rows(self, rows: Sequence[AlertItem | None], ids: Sequence[int], actor: Actor,
                           attempt_id: str | None) -> list[ItemResult]:
        gate = asyncio.Semaphore(self._concurrency)

        async def one(message_id: int, row: AlertItem | None) -> ItemResult:
            if row is None:
                return ItemResult(message_id, Result.UNKNOWN)
            if row.resent_id is not None:  # checked before the guard: its ten minutes may be long over
                return ItemResult(message_id, Result.ALREADY, as_item(row))
            async with gate:
                return await self._resend_one(row, actor, attempt_id)

        return list(await asyncio.gather(*(one(message_id, row) for message_id, row in zip(ids, rows, strict=True))))

    async def _resend_one(self, row: AlertItem, actor: Actor, attempt_id: str | None) -> ItemResult:
        # An alert's button never repeats a resend, however old: deliberate repeats go through /resend.
        outcome = await self._resend.resend_one(row.message_id, actor, action=ACTION, attempt_id=attempt_id,
                                                final_once_resent=True)
        message_id = row.message_id
        if outcome.outcome is ResendStatus.RESENT and outcome.result is not None:
            await self.outbox.record_resend(message_id, user_id=actor.user_id, at=outcome.at,
                                            resent_id=outcome.result.resent_message_id, error=None)
            result = Result.RESENT
        elif outcome.outcome is ResendStatus.DUPLICATE and outcome.prior is not None:
            prior = outcome.prior
            if prior.state != "resent":
                return ItemResult(message_id, Result.BUSY, as_item(row), prior)
            # Resent by /resend (or a click an instant ago): the alert shows that resend.
            await self.outbox.record_resend(message_id, user_id=prior.user_id, at=prior.at,
                                            resent_id=prior.resent_id, error=None)
            result = Result.ALREADY
        else:
            sentence = outcome.error.sentence if outcome.error is not None else "it failed for an unknown reason."
            await self.outbox.record_resend(message_id, user_id=actor.user_id, at=outcome.at, resent_id=None,
                                            error=sentence)
            result = Result.FAILED
        rows = await self.outbox.items([message_id])
        return ItemResult(message_id, result, as_item(rows[message_id]), outcome.prior)
