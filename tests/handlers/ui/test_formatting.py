"""The shared pieces: outside text is escaped, only the bot's own mentions, channels and dates stay live."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers.ui.formatting import (
    button,
    channel_link,
    code,
    confirm_dialog,
    escape,
    fit,
    mention,
    section,
    slack_date,
)
from tests.handlers.hostile import ESCAPED, HOSTILE, assert_inert


def test_escape_and_code_show_text_as_written() -> None:
    assert escape(HOSTILE) == ESCAPED
    assert escape("&lt;") == "&amp;lt;"  # an entity someone typed shows as typed
    assert code("<!here> `x`") == "`&lt;!here&gt; 'x'`"  # Slack parses <…> inside backticks too
    assert code(17) == "`17`"


@pytest.mark.parametrize("user_id", ["U0ALICE01", "W0ENTERPRISE1", "U12"])
def test_well_formed_user_ids_become_mentions(user_id: str) -> None:
    assert mention(user_id) == f"<@{user_id}>"


@pytest.mark.parametrize(("user_id", "shown"), [
    ("U1", "U1"), ("u0alice01", "u0alice01"), ("U0ALICE01> <!channel", "U0ALICE01&gt; &lt;!channel"),
    ("U0ALICE01|x", "U0ALICE01|x"), ("", "someone"), (None, "someone"), ("C0OPS0001", "C0OPS0001"),
])
def test_anything_else_is_text(user_id: str | None, shown: str) -> None:
    assert mention(user_id) == shown


def test_channel_links_only_for_channel_ids() -> None:
    assert channel_link("C0OPS0001") == "<#C0OPS0001>"
    assert channel_link("<!channel>") == "&lt;!channel&gt;"
    assert channel_link(None) == "a channel"


def test_cutting_never_splits_an_entity_or_a_bot_made_token() -> None:
    assert fit("ab &amp; cd", 5) == "ab …"
    assert fit("ab &amp; cd", 100) == "ab &amp; cd"
    assert fit("hi <@U0ALICE01> there", 10) == "hi …"
    long = section("x" * 2990 + " " + ESCAPED)
    assert len(long["text"]["text"]) <= 3000
    assert_inert(long)


def test_confirm_dialogs_and_buttons_escape_their_plain_text() -> None:
    dialog = confirm_dialog(f"Pause {HOSTILE}", f"Pause {escape(HOSTILE)}?", confirm="Pause & go")
    assert dialog["title"]["text"].startswith("Pause &lt;!channel&gt; Tom &amp; Jerry")
    assert dialog["confirm"]["text"] == "Pause &amp; go"
    assert_inert(dialog)
    assert button(HOSTILE, "a", "v")["text"]["text"].startswith("&lt;!channel&gt;")


def test_dates_the_bot_makes_stay_live() -> None:
    shown = slack_date(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    assert shown.startswith("<!date^1795435200^") and shown.endswith("|2026-11-23 12:00 UTC>")
    assert_inert(section(f"at {shown} by {mention('U0ALICE01')}"), live={"<@U0ALICE01>"})
