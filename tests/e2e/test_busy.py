"""Bounded work behind the ack: a /resend over the user's (or the bot's) bound of pending vendor calls is answered
"busy" in the ack itself, nothing of it is sent or queued, and the refusal is audited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.audit.log import AuditOutcome
from tests.conftest import Sandbox
from tests.e2e.conftest import ALICE, BOB, Bot, running_bot

RESEND = "/v2/communications/resend"
FIRST, SECOND, THIRD = 1_800_000_000_001, 1_800_000_000_005, 1_800_000_000_009  # the sandbox's synthetic messages


@pytest.fixture
async def tight(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Bot]:
    async with running_bot(sandbox, tmp_path, max_pending_calls=2, max_pending_calls_per_user=1) as bot:
        yield bot


async def test_a_resend_over_the_users_bound_is_answered_busy_at_once_and_nothing_is_sent(tight: Bot) -> None:
    tight.sandbox.state.latency_ms = 300  # the first resend stays in flight for a while (the client waits 0.5 s)
    first = await tight.command("/resend", str(FIRST))
    assert "Resending message" in first.text
    second = await tight.command("/resend", str(SECOND))
    assert second.status_code == 200  # a plain-text ack: only the person who asked sees it
    assert second.text.startswith(":hourglass: Busy: 1 of yours is still running (you may have 1 call pending")
    assert "Nothing was sent." in second.text
    other = await tight.command("/resend", str(THIRD), user=BOB)  # someone else is not held back by her bound
    assert "Resending message" in other.text
    await tight.settle()
    sent = {call["json"]["messageId"] for call in await tight.vendor_calls(RESEND)}
    assert sent == {FIRST, THIRD}
    rows = await tight.services.audit.query(actions=["resend"])
    busy = [row for row in rows if row.outcome == AuditOutcome.BUSY]
    assert len(busy) == 1 and busy[0].user_id == ALICE[0] and busy[0].arguments["pending_yours"] == 1
    again = await tight.command("/resend", str(SECOND))  # hers is done: she may go on
    assert "Resending message" in again.text
    await tight.settle()


async def test_over_the_bots_bound_everyone_hears_busy(tight: Bot) -> None:
    tight.sandbox.state.latency_ms = 300
    tight.services.budget.per_user = 5  # the bot's bound (2) is reached first
    await asyncio.gather(tight.command("/resend", str(FIRST)), tight.command("/resend", str(THIRD), user=BOB))
    crowded = await tight.command("/resend", str(SECOND))
    assert crowded.text.startswith(":hourglass: Busy: 1 of yours is still running (the bot has 2 calls pending")
    await tight.settle()
