"""The Home tab's composition: independent sections, failures kept to their own section, never over 100 blocks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from bot.access.explain import Standing
from bot.home.sources import HomeSources, NotConfigured
from bot.vendors.errors import VendorError
from handlers.home.sections import HomeContext, HomeSection, compose, what_you_may_do
from handlers.ui.formatting import Block, section


class Sources:
    async def bounded(self, work: Any) -> Any:
        return await work()

    async def standings(self, user_id: str) -> list[Standing]:
        return [Standing("resend", True, "granted", (1,), ("user",)), Standing("audit.read", False, "not_granted")]

    async def approval_from(self, action: str) -> int | None:
        return None


def context_for() -> HomeContext:
    return HomeContext("U0ALICE01", datetime(2026, 11, 27, tzinfo=UTC), cast(HomeSources, Sources()))


async def test_sections_render_in_order_and_one_that_does_not_concern_you_is_left_out() -> None:
    async def hello(ctx: HomeContext) -> list[Block]:
        return [section("hello")]

    async def not_mine(ctx: HomeContext) -> list[Block] | None:
        return None if not ctx.may("audit.read") else [section("secret")]

    blocks = await compose(context_for(), [HomeSection("Hello", hello), HomeSection("Audit", not_mine)])
    texts = str(blocks)
    assert "Hello" in texts and "hello" in texts and "Audit" not in texts and "secret" not in texts


async def test_a_failing_section_says_so_and_the_others_render() -> None:
    async def down(ctx: HomeContext) -> list[Block]:
        raise VendorError("Comm is unavailable right now (HTTP 503).", vendor="comm", http_status=503)

    async def off(ctx: HomeContext) -> list[Block]:
        raise NotConfigured("alerts are off")

    async def broken(ctx: HomeContext) -> list[Block]:
        raise RuntimeError("bug")

    async def fine(ctx: HomeContext) -> list[Block]:
        return [section("still here")]

    blocks = await compose(context_for(), [HomeSection("Down", down), HomeSection("Off", off),
                                           HomeSection("Broken", broken), HomeSection("Fine", fine)])
    texts = str(blocks)
    assert "Could not read this now: Comm is unavailable right now (HTTP 503)." in texts
    assert ":zzz: alerts are off." in texts and "Something went wrong on our side" in texts and "bug" not in texts
    assert "still here" in texts


async def test_however_much_there_is_the_tab_stays_within_100_blocks() -> None:
    async def lots(ctx: HomeContext) -> list[Block]:
        return [section(f"line {n}") for n in range(500)]

    blocks = await compose(context_for(), [HomeSection(f"Part {n}", lots) for n in range(40)])
    assert len(blocks) <= 100
    assert "More did not fit on this page" in str(blocks[-1])


async def test_a_reason_shared_by_every_action_you_may_do_is_said_once() -> None:
    ctx = context_for()
    granted = [Standing(action, True, "granted", (1,), ("user",)) for action in ("resend", "campaign.pause")]
    ctx.standings = {s.action: s for s in granted}
    shown = str(await what_you_may_do(ctx))
    assert shown.count("grant 1 of the access policy names you") == 1 and "All of these: grant 1" in shown
    ctx.standings["audit.read"] = Standing("audit.read", True, "open")  # a different reason: each line says its own
    shown = str(await what_you_may_do(ctx))
    assert shown.count("grant 1 of the access policy names you") == 2 and "All of these" not in shown
