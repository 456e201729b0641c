"""Background work: at shutdown, what finishes in time finishes and what does not is interrupted while the store is
still open, so it can record that it was interrupted; after a burst, the process gives the memory it freed back
once it is idle."""

from __future__ import annotations

import asyncio

import pytest

from bot import background
from bot.background import BackgroundWork


async def test_work_that_finishes_in_time_is_left_to_finish() -> None:
    work = BackgroundWork()
    done: list[str] = []

    async def quick() -> None:
        await asyncio.sleep(0)
        done.append("quick")

    work.spawn(quick(), name="quick")
    assert await work.finish(5) == 0
    assert done == ["quick"] and work.pending == 0


async def test_work_past_the_timeout_is_interrupted_and_may_still_record_that() -> None:
    work = BackgroundWork()
    recorded: list[str] = []
    never = asyncio.Event()

    async def stuck() -> None:
        try:
            await never.wait()
        except asyncio.CancelledError:
            await asyncio.sleep(0)  # e.g. its "interrupted" audit row going to the store
            recorded.append("interrupted")
            raise

    work.spawn(stuck(), name="stuck")
    assert await work.finish(0.01) == 1
    assert recorded == ["interrupted"] and work.pending == 0


async def test_memory_is_given_back_once_idle_after_a_burst(monkeypatch: pytest.MonkeyPatch) -> None:
    trimmed = asyncio.Event()
    monkeypatch.setattr(background, "BURST", 3)
    monkeypatch.setattr(background, "IDLE_SECONDS", 0.0)
    monkeypatch.setattr(background, "_TRIM", trimmed.set)
    work = BackgroundWork()
    for number in range(3):
        work.spawn(asyncio.sleep(0), name=f"piece {number}")
    await asyncio.wait_for(trimmed.wait(), timeout=5)
    assert work.pending == 0


async def test_a_few_pieces_of_work_give_nothing_back(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(background, "BURST", 3)
    monkeypatch.setattr(background, "IDLE_SECONDS", 0.0)
    monkeypatch.setattr(background, "_TRIM", lambda: calls.append("trim"))
    work = BackgroundWork()
    await work.spawn(asyncio.sleep(0), name="one")
    await work.drain(1.0)
    await asyncio.sleep(0)  # a timer due now would have run
    assert calls == []
