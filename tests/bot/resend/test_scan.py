"""Finding message ids in a Slack message (the Resend from message shortcut)."""

from __future__ import annotations

from bot.resend.scan import ids_in


def test_ids_in_text_in_order_once() -> None:
    text = "Failed: 1746061653596, 1748743190124 and again 1746061653596; short 123456789, long 12345678901234567890"
    assert ids_in(text) == [1746061653596, 1748743190124]


def test_not_decimals_phones_words_or_date_stamps() -> None:
    text = ("ts 1746061653.596 phone +919845000001 id abc1746061653596 <!date^1746061653^{date}|x> "
            "v_1746061653596 ok `1746061653597`")
    assert ids_in(text) == [1746061653597]


def test_ids_in_blocks_text_fields() -> None:
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "first 1000000001"},
         "fields": [{"type": "mrkdwn", "text": "1000000002"}],
         "accessory": {"type": "button", "value": "1000000009", "text": {"type": "plain_text", "text": "Go"}}},
        {"type": "rich_text", "elements": [{"type": "rich_text_section",
                                            "elements": [{"type": "text", "text": "then 1000000003"}]}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "1000000001 again"}]},
    ]
    assert ids_in("", blocks) == [1000000001, 1000000002, 1000000003]


def test_the_largest_long_and_no_more() -> None:
    assert ids_in("9223372036854775807 9223372036854775808") == [9223372036854775807]
