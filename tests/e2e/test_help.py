"""Help that knows who asks, over signed HTTP: each person sees what they may use here, and how to get the rest."""

from __future__ import annotations

from tests.e2e.access_support import CAROL, ELSEWHERE, GREG
from tests.e2e.conftest import ALICE, CHANNEL, Bot


async def help_text(bot: Bot, command: str, user: tuple[str, str], channel: str = CHANNEL) -> str:
    answer = await bot.command(command, "help", user=user, channel=channel)
    assert answer.status_code == 200
    return answer.text


async def test_resend_help_shows_the_usage_to_those_who_may_resend(guarded: Bot) -> None:
    for user in (ALICE, GREG):
        text = await help_text(guarded, "/resend", user)
        assert "*Usage:* `/resend &lt;messageId&gt;" in text
        assert "not open to you" not in text


async def test_resend_help_tells_an_outsider_why_not_and_how_to_get_access(guarded: Bot) -> None:
    text = await help_text(guarded, "/resend", CAROL)
    assert "Nothing in `/resend` is open to you here" in text
    assert "no grant of the access policy covers you" in text
    assert "ask an admin to add you (or a user group you are in) to a grant for `resend`" in text
    assert "*Usage:*" not in text


async def test_campaign_help_follows_the_channel_limit(guarded: Bot) -> None:
    here = await help_text(guarded, "/campaign", ALICE)
    assert "/campaign pause &lt;campaign&gt;" in here and "not open to you" not in here
    elsewhere = await help_text(guarded, "/campaign", ALICE, channel=ELSEWHERE)
    # Read-only sub-commands stay open everywhere; pausing is granted only in the ops channel.
    assert "/campaign status &lt;campaign&gt;" in elsewhere
    assert "• `/campaign pause &lt;campaign&gt;` / `/campaign resume" not in elsewhere
    assert "`campaign.pause`" in elsewhere and f"only in <#{CHANNEL}>, not here" in elsewhere


async def test_group_membership_is_named_as_the_reason(guarded: Bot) -> None:
    text = await help_text(guarded, "/campaign", GREG)
    assert "`campaign.pause`" in text and "no grant of the access policy covers you" in text
    assert "/campaign list [filter]" in text  # open to every member


async def test_comm_help_lists_audit_for_everyone_and_upsert_only_when_granted(guarded: Bot) -> None:
    text = await help_text(guarded, "/comm", CAROL)
    assert "`/comm audit [n]`" in text
    assert "• `/comm upsert" not in text
    assert "`comm.upsert`" in text and "to a grant for `comm.upsert`" in text
