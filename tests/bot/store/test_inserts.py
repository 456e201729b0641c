"""bot/store/inserts.py: one INSERT … ON CONFLICT that reads the same on SQLite and PostgreSQL.

With COMMOPS_TEST_POSTGRES_URL set (a scratch database whose tables these tests drop), each test runs against
PostgreSQL as well.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.store.base import Base
from bot.store.engine import Store
from bot.store.inserts import insert
from bot.store.tables import LeaseRow

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
POSTGRES = os.environ.get("COMMOPS_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", *(["postgresql"] if POSTGRES else [])])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    url = POSTGRES if request.param == "postgresql" and POSTGRES else f"sqlite+aiosqlite:///{tmp_path}/inserts.db"
    store = Store(url)
    await store.start()
    yield store
    if store.dialect == "postgresql":
        async with store.engine.begin() as connection:
            await connection.run_sync(Base.metadata.drop_all)
    await store.close()


def lease(name: str, holder: str, expires: timedelta = timedelta(minutes=2)) -> dict[str, object]:
    return {"name": name, "holder": holder, "acquired_at": T0, "expires_at": T0 + expires}


async def holders(store: Store) -> dict[str, str]:
    async with store.session() as session:
        return {row.name: row.holder for row in (await session.scalars(select(LeaseRow))).all()}


async def test_do_nothing_keeps_the_first_row_and_returns_only_the_new_ones(store: Store) -> None:
    async def add(*rows: dict[str, object]) -> list[str]:
        statement = insert(store, LeaseRow).values(list(rows)).on_conflict_do_nothing(
            index_elements=["name"]).returning(LeaseRow.name)
        async with store.session() as session, session.begin():
            return [name for (name,) in (await session.execute(statement)).all()]

    assert sorted(await add(lease("a", "first"), lease("b", "first"))) == ["a", "b"]
    assert await add(lease("a", "second"), lease("c", "second")) == ["c"]
    assert await holders(store) == {"a": "first", "b": "first", "c": "second"}


async def test_do_update_applies_only_where_its_condition_holds(store: Store) -> None:
    async def take(holder: str, now: datetime) -> bool:
        values = {**lease("job", holder), "acquired_at": now, "expires_at": now + timedelta(minutes=2)}
        statement = insert(store, LeaseRow).values(**values).on_conflict_do_update(
            index_elements=["name"], set_={"holder": holder, "expires_at": values["expires_at"]},
            where=LeaseRow.expires_at <= now).returning(LeaseRow.name)
        async with store.session() as session, session.begin():
            return (await session.execute(statement)).first() is not None

    assert await take("first", T0)
    assert not await take("second", T0 + timedelta(minutes=1))  # not expired: the row is left as it was
    assert await holders(store) == {"job": "first"}
    assert await take("second", T0 + timedelta(minutes=2))
    assert await holders(store) == {"job": "second"}
