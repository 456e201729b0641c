"""Acting on an alert: Resend and Resend all, through ResendService (its duplicate guard and audit rows) and the
outbox (which remembers, per item, who resent it, when, and the new id, so the digest can show it).

The items to send are admitted to the bot's budget of pending vendor work (bot/work/budget.py) first: over it,
nothing is sent and the clicker is told the bot is busy."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from bot.actor import Actor
from bot.alerts.domain import DigestItem, PostedItem
from bot.alerts.outbox import Outbox, Resent, as_item, as_posted
from bot.resend.service import PriorResend, ResendOutcome, ResendService, ResendStatus
from bot.store.engine import Store
from bot.work import Budget, Busy

ACTION = "alerts.resend"


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
    def __init__(self, store: Store, resend: ResendService, *, budget: Budget | None = None) -> None:
        self.outbox = Outbox(store)
        self._resend = resend
        self._budget = budget or Budget()

    async def resend(self, message_ids: Sequence[int], actor: Actor, *, attempt_id: str | None = None
                     ) -> list[ItemResult] | Busy:
        rows = await self.outbox.items(message_ids)
        items = [as_item(rows[message_id]) if message_id in rows else None for message_id in message_ids]
        return await self._resend_items(items, message_ids, actor, attempt_id)

    async def digest_ids(self, digest_id: str) -> list[int]:
        """The message ids of one digest's items (what its Resend all would resend)."""
        return sorted(row.message_id for row in await self.outbox.digest_items(digest_id))

    async def resend_digest(self, digest_id: str, actor: Actor, *, attempt_id: str | None = None
                            ) -> tuple[list[ItemResult], list[PostedItem]] | Busy:
        """Every item of one digest; returns the results and the digest's items as they now stand, each with
        where it was posted."""
        rows = await self.outbox.digest_items(digest_id)
        results = await self._resend_items([as_item(row) for row in rows], [row.message_id for row in rows], actor,
                                           attempt_id)
        if isinstance(results, Busy):
            return results
        return results, [as_posted(row) for row in await self.outbox.digest_items(digest_id)]

    async def _resend_items(self, items: Sequence[DigestItem | None], ids: Sequence[int], actor: Actor,
                            attempt_id: str | None) -> list[ItemResult] | Busy:
        results: dict[int, ItemResult] = {}
        wanted: dict[int, DigestItem] = {}
        for message_id, item in zip(ids, items, strict=True):
            if item is None:
                results[message_id] = ItemResult(message_id, Result.UNKNOWN)
            elif item.resent_id is not None:  # checked before the guard: its ten minutes may be long over
                results[message_id] = ItemResult(message_id, Result.ALREADY, item)
            else:
                wanted[message_id] = item
        if wanted:
            ticket = self._budget.admit(actor.user_id, len(wanted))
            if isinstance(ticket, Busy):
                return ticket
            with ticket:
                # An alert's button never repeats a resend, however old: deliberate repeats go through /resend.
                outcomes = await self._resend.resend_many(list(wanted), actor, action=ACTION, attempt_id=attempt_id,
                                                          final_once_resent=True, ticket=ticket)
            results.update(await self._record(outcomes, actor))
        return [results[message_id] for message_id in ids]

    async def _record(self, outcomes: Sequence[ResendOutcome], actor: Actor) -> dict[int, ItemResult]:
        """What each resend means for its alert item, written to the outbox in one go; the items as they now stand."""
        kinds: dict[int, tuple[Result, PriorResend | None]] = {}
        resends: list[Resent] = []
        for outcome in outcomes:
            message_id = outcome.message_id
            if outcome.outcome is ResendStatus.RESENT and outcome.result is not None:
                resends.append(Resent(message_id, actor.user_id, outcome.at, outcome.result.resent_message_id, None))
                kinds[message_id] = (Result.RESENT, None)
            elif outcome.outcome is ResendStatus.DUPLICATE and outcome.prior is not None:
                prior = outcome.prior
                if prior.state != "resent":
                    kinds[message_id] = (Result.BUSY, prior)
                    continue
                # Resent by /resend (or a click an instant ago): the alert shows that resend.
                resends.append(Resent(message_id, prior.user_id, prior.at, prior.resent_id, None))
                kinds[message_id] = (Result.ALREADY, prior)
            else:
                sentence = outcome.error.sentence if outcome.error is not None else "it failed for an unknown reason."
                resends.append(Resent(message_id, actor.user_id, outcome.at, None, sentence))
                kinds[message_id] = (Result.FAILED, None)
        await self.outbox.record_resends(resends)
        rows = await self.outbox.items(list(kinds))
        return {message_id: ItemResult(message_id, result, as_item(rows[message_id]) if message_id in rows else None,
                                       before)
                for message_id, (result, before) in kinds.items()}
