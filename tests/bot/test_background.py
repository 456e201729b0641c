"""Shutting down with work in progress: what finishes in time finishes; what does not is interrupted while the store
is still open, so it can record that it was interrupted."""

from __future__ import annotations

import asyncio

from bot.background import BackgroundWork


async def test_work_that_finishes_in_time_is_left_to_finish() -> None:
    background = BackgroundWork()
    done: list[str] = []

    async def quick() -> None:
        await asyncio.sleep(0)
        done.append("quick")

    background.spawn(quick(), name="quick")
    assert await background.finish(5) == 0
    assert done == ["quick"] and background.pending == 0


async def test_work_past_the_timeout_is_interrupted_and_may_still_record_that() -> None:
    background = BackgroundWork()
    recorded: list[str] = []
    never = asyncio.Event()

    async def stuck() -> None:
        try:
            await never.wait()
        except asyncio.CancelledError:
            await asyncio.sleep(0)  # e.g. its "interrupted" audit row going to the store
            recorded.append("interrupted")
            raise

    background.spawn(stuck(), name="stuck")
    assert await background.finish(0.01) == 1
    assert recorded == ["interrupted"] and background.pending == 0
