"""The resend guard (the resend_claims table): one resend per message id at a time and per ten minutes, unless a
person chose "Resend anyway" for the claim they saw; on SQLite and PostgreSQL, with two replicas' stores on one
database (the ``database_url`` fixture of tests/conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from bot.actor import Actor
from bot.audit.log import AuditLog
from bot.resend.service import GUARD_WINDOW, ResendService, ResendStatus
from bot.store.engine import Store
from bot.store.schema import upgrade
from bot.vendors.capillary import CapillaryClient, ResendResult
from bot.vendors.errors import Timeout

ALICE = Actor("U0ALICE01", "alice", "T0001", "C0OPS0001")
BOB = Actor("U0BOB0001", "bob", "T0001", "C0OPS0001")
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class SlowCapillary:
    """Resends after a short wait (so two requests overlap), numbering the new messages; or raises ``error``."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.error: Exception | None = None

    async def resend(self, message_id: int) -> ResendResult:
        self.calls.append(message_id)
        await asyncio.sleep(0.05)
        if self.error is not None:
            raise self.error
        return ResendResult(org_id=100737, undelivered_message_id=message_id,
                            resent_message_id=9_000 + len(self.calls))


@pytest.fixture
async def replicas(database_url: str) -> AsyncIterator[tuple[Store, Store]]:
    await upgrade(database_url)
    first, second = Store(database_url), Store(database_url)
    yield first, second
    await first.close()
    await second.close()


def services(replicas: tuple[Store, Store], capillary: SlowCapillary, clock: Clock) -> tuple[ResendService, ...]:
    """One resend service a replica, each on its own store, sharing the vendor."""
    return tuple(ResendService(cast(CapillaryClient, capillary), store, audit=AuditLog(store, clock=clock), clock=clock)
                 for store in replicas)


async def test_two_replicas_resending_one_id_at_once_resend_it_once(replicas: tuple[Store, Store]) -> None:
    capillary, clock = SlowCapillary(), Clock()
    a, b = services(replicas, capillary, clock)
    outcomes = await asyncio.gather(a.resend_one(42, ALICE), b.resend_one(42, BOB))
    assert sorted(outcome.outcome for outcome in outcomes) == [ResendStatus.DUPLICATE, ResendStatus.RESENT]
    assert capillary.calls == [42]
    duplicate = next(outcome for outcome in outcomes if outcome.outcome is ResendStatus.DUPLICATE)
    assert duplicate.prior is not None and duplicate.prior.state == "pending"  # the other was still at it


async def test_within_ten_minutes_a_resend_is_refused_then_allowed(replicas: tuple[Store, Store]) -> None:
    capillary, clock = SlowCapillary(), Clock()
    a, b = services(replicas, capillary, clock)
    assert (await a.resend_one(42, ALICE)).outcome is ResendStatus.RESENT
    clock.now = T0 + GUARD_WINDOW - timedelta(seconds=1)
    refused = await b.resend_one(42, BOB)
    assert refused.outcome is ResendStatus.DUPLICATE and refused.prior is not None
    assert (refused.prior.user_id, refused.prior.state, refused.prior.resent_id, refused.prior.at) == (
        "U0ALICE01", "resent", 9_001, T0)
    clock.now = T0 + GUARD_WINDOW + timedelta(seconds=1)
    assert (await b.resend_one(42, BOB)).outcome is ResendStatus.RESENT
    assert capillary.calls == [42, 42]


async def test_resend_anyway_overrides_the_claim_seen_once(replicas: tuple[Store, Store]) -> None:
    capillary, clock = SlowCapillary(), Clock()
    a, b = services(replicas, capillary, clock)
    await a.resend_one(42, ALICE)
    seen = (await b.resend_one(42, BOB)).blocking_version
    assert seen == 1
    both = await asyncio.gather(a.resend_one(42, ALICE, overriding=seen), b.resend_one(42, BOB, overriding=seen))
    assert sorted(outcome.outcome for outcome in both) == [ResendStatus.DUPLICATE, ResendStatus.RESENT]
    assert capillary.calls == [42, 42]  # the button's second click (or a copy of it) sent nothing


async def test_a_failed_resend_may_be_tried_again_at_once_an_uncertain_one_not(replicas: tuple[Store, Store]) -> None:
    capillary, clock = SlowCapillary(), Clock()
    a, b = services(replicas, capillary, clock)
    capillary.error = Timeout("Capillary did not answer within 0.5 s.", vendor="capillary", maybe_applied=True)
    assert (await a.resend_one(7, ALICE)).outcome is ResendStatus.UNCERTAIN
    assert (await b.resend_one(7, BOB)).outcome is ResendStatus.DUPLICATE  # it may have been sent
    capillary.error = Timeout("Capillary refused the connection.", vendor="capillary", maybe_applied=False)
    assert (await a.resend_one(8, ALICE)).outcome is ResendStatus.FAILED
    capillary.error = None
    assert (await b.resend_one(8, BOB)).outcome is ResendStatus.RESENT
