"""A Pause or Resume button's value: compact, exact, and read strictly."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.campaigns.plan import Basis
from handlers.campaign.values import MAX_VALUE, UNKNOWN, read_toggle_value, toggle_value

CAMPAIGN = "b12d04e8-7e6f-5b9d-b8de-3cf6dd0d3a16"


def test_the_value_round_trips_to_the_microsecond() -> None:
    basis = Basis((True, False), datetime(2026, 11, 27, 18, 48, 51, 123457, tzinfo=UTC))
    value = toggle_value(CAMPAIGN, basis)
    assert len(value) < 100 < MAX_VALUE
    assert read_toggle_value(value) == (CAMPAIGN, basis)


def test_a_bare_campaign_id_is_an_older_button_without_a_basis() -> None:
    assert read_toggle_value(CAMPAIGN) == (CAMPAIGN, UNKNOWN)
    assert not UNKNOWN.known


def test_anything_else_is_refused() -> None:
    good = toggle_value(CAMPAIGN, Basis((True,), datetime(2026, 1, 1, tzinfo=UTC)))
    for value in ["", "{}", "null", "[]", good.replace('"s":"1"', '"s":1'), good.replace('"s":"1"', '"s":"10x"'),
                  good[:-1] + ',"extra":true}', good.replace(CAMPAIGN, CAMPAIGN.replace("-", "")),
                  f"{CAMPAIGN}/x", CAMPAIGN + " ", good + " " * MAX_VALUE]:
        assert read_toggle_value(value) is None, value
