"""The alert domain without I/O: watch-list lines, sent times, which messages count, masking, digest layout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.alerts.domain import Digest, DigestItem, mask, parse_sent_date, undelivered, undelivered_statuses
from bot.alerts.importer import parse_time
from bot.alerts.watchlist import Customer, parse_watchlist
from bot.vendors.capillary.models import CustomerInteractions
from handlers.alerts.blocks import DIGEST, thread_blocks

KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
STATUSES = undelivered_statuses(("NOT-DELIVERED", "FAILED", "SOFT_BOUNCED", "GTW_NOT_FOUND"))


def test_watchlist_reports_bad_lines_by_number_and_keeps_the_rest() -> None:
    text = "# header\n\nmobile:+91 98450 00001\nemail:Ana@Example.com  # vip\nfax:123\nexternal_id:C#7\nmobile:12\n" \
           "mobile:919845000001\n"
    parsed = parse_watchlist(text)
    assert parsed.customers == (Customer("mobile", "919845000001"), Customer("email", "ana@example.com"),
                                Customer("external_id", "C#7"))
    assert [problem.line for problem in parsed.problems] == [5, 7]


def test_a_long_watchlist_parses_quickly() -> None:
    parsed = parse_watchlist("\n".join(f"mobile:9199{n:08d}" for n in range(20_000)))
    assert len(parsed.customers) == 20_000 and not parsed.problems


def test_sent_date_is_read_in_the_cluster_zone() -> None:
    assert parse_sent_date("05-01-2026 17:30:00", KOLKATA) == datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    assert parse_sent_date("05-01-2026 17:30:00.250", KOLKATA) == datetime(2026, 1, 5, 12, 0, 0, 250000, tzinfo=UTC)
    assert parse_sent_date("2026-01-05 17:30:00", KOLKATA) == datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    assert parse_sent_date("2026-01-05T17:30:00+00:00", KOLKATA) == datetime(2026, 1, 5, 17, 30, tzinfo=UTC)
    assert parse_sent_date("yesterday", KOLKATA) is None


def _answer(*messages: tuple[int, str, str]) -> CustomerInteractions:
    return CustomerInteractions.model_validate({"name": "x", "interaction": [{"count": len(messages), "name": "sms",
        "messageList": [{"id": i, "receiver": "919845000001", "status": s, "sentDate": d} for i, s, d in messages]}]})


def test_only_undelivered_statuses_within_the_lookback_count() -> None:
    found = _answer((1, "NOT-DELIVERED", "05-01-2026 17:00:00"), (2, "DELIVERED", "05-01-2026 17:00:00"),
                    (3, "FAILED", "03-01-2026 17:00:00"), (4, "soft_bounced", "05-01-2026 09:00:00"),
                    (5, "FAILED", "not a date"))
    result = undelivered(found, "mobile:919845000001", statuses=STATUSES, zone=KOLKATA, now=NOW,
                         lookback=timedelta(hours=24))
    assert [(c.message_id, c.status) for c in result] == [(1, "NOT-DELIVERED"), (4, "SOFT_BOUNCED")]
    assert result[0].sent_at == datetime(2026, 1, 5, 11, 30, tzinfo=UTC)


def test_receivers_show_only_their_last_four_characters() -> None:
    assert mask("919845000001") == "••••0001" and mask("abc") == "••••"


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-01-05T17:30:00+05:30", datetime(2026, 1, 5, 12, 0, tzinfo=UTC)),
    ("2026-01-05T12:00:00Z", datetime(2026, 1, 5, 12, 0, tzinfo=UTC)),
    ("2026-01-05 17:30:00", datetime(2026, 1, 5, 12, 0, tzinfo=UTC)),
    ("05-01-2026 17:30:00", datetime(2026, 1, 5, 12, 0, tzinfo=UTC)),
    ("1767614400", datetime(2026, 1, 5, 12, 0, tzinfo=UTC)),
    ("1767614400000", datetime(2026, 1, 5, 12, 0, tzinfo=UTC)),
])
def test_import_times(text: str, expected: datetime) -> None:
    assert parse_time(text, KOLKATA) == expected


def _items(count: int, **resent: object) -> tuple[DigestItem, ...]:
    return tuple(DigestItem(1_800_000_000_000 + n, "sms", f"9199{n:08d}", "NOT-DELIVERED",
                            NOW - timedelta(minutes=n), **resent) for n in range(count))  # type: ignore[arg-type]


def test_digest_stays_within_slack_limits_even_after_everything_is_resent() -> None:
    digest = Digest("d1", _items(2000), missing_customers=tuple(f"mobile:{n}" for n in range(100)), unchecked=3)
    text, blocks = DIGEST.main_message(digest)
    assert len(blocks) <= 50 and "2000 undelivered messages" in text
    posts = DIGEST.thread_messages(digest.rest)
    assert sum(len(ids) for _, _, ids in posts) == 1980
    resent = {item.message_id: item for item in _items(2000, resent_by="U1", resent_at=NOW, resent_id=9)}
    for _, post_blocks, ids in posts:
        assert len(post_blocks) <= 50
        redrawn = thread_blocks([resent[message_id] for message_id in ids])
        assert len(redrawn) <= 50 and "\n".join(str(b) for b in redrawn).count("resent by") == len(ids)
