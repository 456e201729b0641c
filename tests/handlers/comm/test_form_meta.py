"""A form's private_metadata comes back from Slack as the client left it: junk never breaks the form."""

from __future__ import annotations

import pytest

from handlers.campaign.blocks import read_page_value
from handlers.comm.upsert_blocks import FormMeta


@pytest.mark.parametrize("raw", ["[" * 5000 + "]" * 5000, '{"channel_id": NaN}', "{" * 40, "not json", None, "[]"])
def test_junk_metadata_reads_as_a_form_we_did_not_open(raw: str | None) -> None:
    assert FormMeta.load(raw) == FormMeta()


@pytest.mark.parametrize("raw", ['{"p":1e999,"f":"x"}', '{"p":Infinity,"f":"x"}', "[" * 5000 + "]" * 5000,
                                 '{"p":true,"f":"x"}', '{"p":"2","f":"x"}', '{"p":2}'])
def test_a_junk_page_value_is_the_first_page(raw: str) -> None:
    assert read_page_value(raw) == (1, None)


def test_a_page_value_the_bot_made_is_read_back() -> None:
    assert read_page_value('{"p":3,"f":"wk"}') == (3, "wk")
