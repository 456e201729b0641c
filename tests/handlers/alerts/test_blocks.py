"""Alert digests show vendor texts and who resent as written; only verified user ids become mentions."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.alerts.actions import ItemResult, Result
from bot.alerts.domain import Digest, DigestItem
from handlers.alerts.blocks import DIGEST, item_text, thread_blocks
from handlers.alerts.listeners import note
from tests.handlers.hostile import ESCAPED, HOSTILE, assert_inert

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def item(message_id: int, **extra: object) -> DigestItem:
    return DigestItem(message_id, "sms", "+919876543210", HOSTILE, AT, **extra)  # type: ignore[arg-type]


def test_a_digest_shows_vendor_statuses_errors_and_missing_customers_as_written() -> None:
    items = (item(1), item(2, resent_by="U0ALICE01", resent_at=AT, resent_id=3),
             item(4, resent_by="<!here>", resent_at=AT, resend_error=HOSTILE))
    text, blocks = DIGEST.main_message(Digest("d1", items, missing_customers=(HOSTILE,)))
    shown = assert_inert([text, blocks], live={"<@U0ALICE01>"})
    assert shown.count(ESCAPED) == 5  # three statuses, one resend error, one missing customer
    assert "resent by <@U0ALICE01>" in shown and "resend by &lt;!here&gt;" in shown
    assert_inert(thread_blocks(items), live={"<@U0ALICE01>"})
    assert ESCAPED in item_text(items[0])


def test_the_clicker_notes_make_mentions_of_user_ids_only() -> None:
    done = ItemResult(4, Result.ALREADY, item(4, resent_by="U0ALICE01|<!channel>", resent_at=AT, resent_id=5))
    shown = assert_inert(note(done) or "")
    assert "resent by U0ALICE01|&lt;!channel&gt;" in shown
