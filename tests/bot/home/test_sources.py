"""The Home tab's sources: a source that is off says so (its section shows it), without touching anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.access.policy import AccessControl
from bot.audit.log import AuditLog
from bot.home.sources import HomeSources, NotConfigured
from bot.store.engine import Store
from bot.store.schema import prepare


async def test_sources_that_are_off_say_why(tmp_path: Path) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/home.db")
    try:
        await prepare(store, auto_upgrade=True)
        sources = HomeSources(access=AccessControl(None), audit=AuditLog(store), store=store, comm=None,
                              campaigns=None, schedule=None, alert_channel=None)
        with pytest.raises(NotConfigured, match="Comm is not configured"):
            await sources.paused(10)
        with pytest.raises(NotConfigured, match="scheduled"):
            await sources.scheduled(10)
        with pytest.raises(NotConfigured, match="ALERT_CHANNEL"):
            await sources.alert_run()
        on = HomeSources(access=AccessControl(None), audit=AuditLog(store), store=store, comm=None, campaigns=None,
                         schedule=None, alert_channel="C0ALERTS1")
        assert await on.alert_run() is None  # nothing found yet
        assert await on.recent("U0ALICE01", 10) == []
    finally:
        await store.close()
