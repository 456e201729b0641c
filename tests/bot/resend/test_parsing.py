from __future__ import annotations

import pytest

from bot.errors import UsageError
from bot.resend.service import MAX_IDS, parse_message_ids


def test_ids_separated_by_spaces_and_commas_keep_their_order() -> None:
    assert parse_message_ids("1746061653596, 42;7  9") == [1746061653596, 42, 7, 9]


def test_duplicates_in_one_command_are_sent_once() -> None:
    assert parse_message_ids("5 5 6 5") == [5, 6]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "at least one message id"),
        ("abc", "“abc” is not a message id"),
        ("12 x3", "“x3” is not a message id"),
        ("-5", "positive"),
        ("0", "positive"),
        ("1.5", "whole numbers"),
        ("99999999999999999999", "at most"),
    ],
)
def test_bad_input_names_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(UsageError, match=says):
        parse_message_ids(text)


def test_more_than_fifty_distinct_ids_is_refused_with_the_count() -> None:
    with pytest.raises(UsageError, match=f"51 ids; /resend takes at most {MAX_IDS}"):
        parse_message_ids(" ".join(str(n) for n in range(1, 52)))
    assert len(parse_message_ids(" ".join(str(n) for n in range(1, 51)))) == 50
