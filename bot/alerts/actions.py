"""Acting on an alert: Resend and Resend all, through ResendService (its duplicate guard and audit rows) and the
outbox (which remembers, per item, who resent it, when, and the new id, so the digest can show it)."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from bot.actor import Actor
from bot.alerts.domain import DigestItem, PostedItem
from bot.alerts.outbox import Outbox, as_item, as_posted
from bot.resend.service import PriorResend, ResendService, ResendStatus
from bot.store.engine import Store

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
        items = [as_item(rows[message_id]) if message_id in rows else None for message_id in message_ids]
        return await self._resend_items(items, message_ids, actor, attempt_id)

    async def resend_digest(self, digest_id: str, actor: Actor, *, attempt_id: str | None = None
                            ) -> tuple[list[ItemResult], list[PostedItem]]:
        """Every item of one digest; returns the results and the digest's items as they now stand, each with
        where it was posted."""
        rows = await self.outbox.digest_items(digest_id)
        results = await self._resend_items([as_item(row) for row in rows], [row.message_id for row in rows], actor,
                                           attempt_id)
        return results, [as_posted(row) for row in await self.outbox.digest_items(digest_id)]

    async def _resend_items(self, items: Sequence[DigestItem | None], ids: Sequence[int], actor: Actor,
                            attempt_id: str | None) -> list[ItemResult]:
        gate = asyncio.Semaphore(self._concurrency)

        async def one(message_id: int, item: DigestItem | None) -> ItemResult:
            if item is None:
                return ItemResult(message_id, Result.UNKNOWN)
            if item.resent_id is not None:  # checked before the guard: its ten minutes may be long over
                return ItemResult(message_id, Result.ALREADY, item)
            async with gate:
                return await self._resend_one(item, actor, attempt_id)

        return list(await asyncio.gather(*(one(message_id, item)
                                           for message_id, item in zip(ids, items, strict=True))))

    async def _resend_one(self, item: DigestItem, actor: Actor, attempt_id: str | None) -> ItemResult:
        # An alert's button never repeats a resend, however old: deliberate repeats go through /resend.
        message_id = item.message_id
        outcome = await self._resend.resend_one(message_id, actor, action=ACTION, attempt_id=attempt_id,
                                                final_once_resent=True)
        if outcome.outcome is ResendStatus.RESENT and outcome.result is not None:
            await self.outbox.record_resend(message_id, user_id=actor.user_id, at=outcome.at,
                                            resent_id=outcome.result.resent_message_id, error=None)
            result = Result.RESENT
        elif outcome.outcome is ResendStatus.DUPLICATE and outcome.prior is not None:
            prior = outcome.prior
            if prior.state != "resent":
                return ItemResult(message_id, Result.BUSY, item, prior)
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
