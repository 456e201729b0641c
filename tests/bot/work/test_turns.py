"""Fair turns for vendor work: one user's flood delays another's single call by about one call; a person's call goes
before the background's; one user never holds more than their share of the workers."""

from __future__ import annotations

import asyncio

from bot.work import Claimant, Lane, Turns, claimant

ALICE, BOB = "U0ALICE01", "U0BOB0001"


class FakeVendor:
    """Each call waits until the test finishes it: the test decides when calls end, no clock involved."""

    def __init__(self) -> None:
        self.started: list[Claimant] = []
        self.running: list[asyncio.Future[None]] = []

    async def call(self) -> None:
        self.started.append(claimant())  # whom the turn says the call is for
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.running.append(done)
        await done

    async def finish_oldest(self) -> None:
        self.running.pop(0).set_result(None)
        for _ in range(5):  # let the freed worker's next call start
            await asyncio.sleep(0)


async def submit(turns: Turns, vendor: FakeVendor, lane: Lane, user: str, count: int) -> list[asyncio.Task[None]]:
    async def one() -> None:
        async with turns.turn(lane, user):
            await vendor.call()

    tasks = [asyncio.create_task(one()) for _ in range(count)]
    for _ in range(5):
        await asyncio.sleep(0)
    return tasks


async def test_a_flood_delays_another_users_single_call_by_about_one_call() -> None:
    turns, vendor = Turns(4, per_user=4), FakeVendor()
    flood = await submit(turns, vendor, Lane.PEOPLE, ALICE, 500)
    assert [who.user for who in vendor.started] == [ALICE] * 4  # every worker busy with her calls
    single = await submit(turns, vendor, Lane.PEOPLE, BOB, 1)
    await vendor.finish_oldest()  # the first worker to come free goes to Bob, not to her 497 waiting calls
    assert vendor.started[-1] == Claimant(Lane.PEOPLE, BOB)
    await vendor.finish_oldest()
    assert vendor.started[-1] == Claimant(Lane.PEOPLE, ALICE)
    for task in flood + single:
        task.cancel()
    await asyncio.gather(*flood, *single, return_exceptions=True)
    assert turns.running == 0 and turns.waiting == 0


async def test_a_user_never_holds_more_than_their_share_of_the_workers() -> None:
    turns, vendor = Turns(10, per_user=3), FakeVendor()
    flood = await submit(turns, vendor, Lane.PEOPLE, ALICE, 50)
    assert len(vendor.started) == 3
    other = await submit(turns, vendor, Lane.PEOPLE, BOB, 2)
    assert [who.user for who in vendor.started[3:]] == [BOB, BOB]  # at once: free workers were left
    for task in flood + other:
        task.cancel()
    await asyncio.gather(*flood, *other, return_exceptions=True)


async def test_a_persons_call_goes_before_the_background() -> None:
    turns, vendor = Turns(2, per_user=2, background=2), FakeVendor()
    background = await submit(turns, vendor, Lane.BACKGROUND, "", 10)
    people = await submit(turns, vendor, Lane.PEOPLE, ALICE, 2)
    await vendor.finish_oldest()
    await vendor.finish_oldest()
    assert [who.lane for who in vendor.started] == [Lane.BACKGROUND, Lane.BACKGROUND, Lane.PEOPLE, Lane.PEOPLE]
    await vendor.finish_oldest()
    assert vendor.started[-1].lane is Lane.BACKGROUND  # no person waits any more
    for task in background + people:
        task.cancel()
    await asyncio.gather(*background, *people, return_exceptions=True)


async def test_a_cancelled_wait_gives_its_place_up() -> None:
    turns, vendor = Turns(1, per_user=1), FakeVendor()
    first = await submit(turns, vendor, Lane.PEOPLE, ALICE, 1)
    waiting = await submit(turns, vendor, Lane.PEOPLE, BOB, 1)
    waiting[0].cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    await vendor.finish_oldest()
    await asyncio.gather(*first)
    assert turns.running == 0 and turns.waiting == 0 and len(vendor.started) == 1
