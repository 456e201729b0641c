"""The replay guard's memory (bot/access/replays.py): two replicas' stores on one database (SQLite and
PostgreSQL), an injected clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.access.replays import KEEP, SeenRequests, Sighting, StoreUnavailable, fingerprint
from bot.store.engine import Store
from bot.store.schema import upgrade
from bot.store.tables import SeenRequest

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def stores(database_url: str) -> AsyncIterator[tuple[Store, Store]]:
    """Two replicas' stores on one database (each backend; see tests/conftest.py)."""
    await upgrade(database_url)
    first, second = Store(database_url), Store(database_url)
    yield first, second
    await first.close()
    await second.close()


async def rows(store: Store) -> int:
    async with store.session() as session:
        return int(await session.scalar(select(func.count()).select_from(SeenRequest)) or 0)


def test_the_fingerprint_is_the_digest_of_what_slack_signed_with() -> None:
    one = fingerprint("1764268919", "v0=abc")
    assert len(one) == 64 and one == fingerprint("1764268919", "v0=abc")
    assert one != fingerprint("1764268920", "v0=abc") and one != fingerprint("1764268919", "v0=abd")


async def test_a_request_is_new_once_and_then_names_its_first_sighting(stores: tuple[Store, Store]) -> None:
    clock = Clock()
    a, b = SeenRequests(stores[0], clock=clock), SeenRequests(stores[1], clock=clock)
    digest = fingerprint("1764268919", "v0=first")
    assert await a.first_sighting(digest, "attempt-1") is None
    clock.now += timedelta(seconds=30)
    for replica in (a, b):
        earlier = await replica.first_sighting(digest, "attempt-2")
        assert earlier is not None and (earlier.seen_at, earlier.attempt_id) == (T0, "attempt-1")


async def test_two_replicas_racing_on_one_request_serve_it_once(stores: tuple[Store, Store]) -> None:
    a, b = SeenRequests(stores[0]), SeenRequests(stores[1])
    for round_ in range(5):
        digest = fingerprint(str(1764268919 + round_), "v0=raced")
        answers = await asyncio.gather(*(replica.first_sighting(digest, f"{index}") for index in range(4)
                                         for replica in (a, b)))
        assert sum(answer is None for answer in answers) == 1, answers


async def test_requests_past_the_window_are_pruned_after_an_insert(stores: tuple[Store, Store]) -> None:
    clock = Clock()
    guard = SeenRequests(stores[0], clock=clock, prune_every=timedelta(minutes=1))
    for index in range(3):
        assert await guard.first_sighting(fingerprint(str(index), "v0=old"), None) is None
    assert await rows(stores[0]) == 3
    clock.now += KEEP - timedelta(seconds=1)  # a request signed 5 minutes ahead could still verify: kept
    assert await guard.first_sighting(fingerprint("3", "v0=new"), None) is None
    assert await rows(stores[0]) == 4
    clock.now += timedelta(seconds=30)  # the first three are past the window, but the last prune was just now
    assert await guard.first_sighting(fingerprint("4", "v0=new"), None) is None
    assert await rows(stores[0]) == 5
    clock.now += timedelta(seconds=31)  # a minute since the last prune: due again
    assert await guard.first_sighting(fingerprint("5", "v0=new"), None) is None
    assert await rows(stores[0]) == 3
    assert await guard.first_sighting(fingerprint("0", "v0=old"), None) is None  # forgotten: it can no longer verify


async def test_each_process_remembers_what_it_received_without_asking_the_store(tmp_path: Path) -> None:
    clock = Clock()
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/never-started.db")  # never asked: no tables needed
    guard = SeenRequests(store, clock=clock)
    digest = fingerprint("1764268919", "v0=here")
    assert guard.seen_here(digest, "attempt-1") is None
    clock.now += timedelta(minutes=1)
    earlier = guard.seen_here(digest, "attempt-2")
    assert earlier is not None and (earlier.seen_at, earlier.attempt_id) == (T0, "attempt-1")
    guard.learn(digest, Sighting(T0 - timedelta(seconds=1), "served-elsewhere"))  # the store knew better
    assert guard.seen_here(digest, "attempt-3") == Sighting(T0 - timedelta(seconds=1), "served-elsewhere")
    clock.now += KEEP  # long past the window: forgotten as newer ones come in
    assert guard.seen_here(fingerprint("1", "v0=newer"), None) is None
    assert guard.seen_here(digest, "attempt-4") is None
    await store.close()


async def test_a_store_that_does_not_answer_is_said(tmp_path: Path) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/shared.db")  # never started: the table is not there
    with pytest.raises(StoreUnavailable, match="OperationalError"):
        await SeenRequests(store).first_sighting(fingerprint("1", "v0=x"), None)
    await store.close()
