"""Times as people type them, read in their time zone: the next 09:00, tomorrow, a date, a length; and refused
when past, too soon, too far, skipped or shown twice by the clocks (daylight saving time), or without a zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.schedule.command import parse_request
from bot.schedule.when import TimeSpec, WhenError, WhenKind, parse_spec, resolve

NOW = datetime(2026, 11, 27, 19, 40, tzinfo=UTC)  # a Friday evening in London, 14:40 in New York
LONDON, NEW_YORK, KOLKATA = "Europe/London", "America/New_York", "Asia/Kolkata"


def at(text: str, kind: WhenKind = WhenKind.UNTIL, zone: str | None = LONDON, now: datetime = NOW) -> datetime:
    return resolve(parse_spec(text.split(), kind), now, zone)


@pytest.mark.parametrize(("text", "length"), [
    ("2h", timedelta(hours=2)), ("30m", timedelta(minutes=30)), ("1d", timedelta(days=1)),
    ("1h30m", timedelta(minutes=90)), ("1h 30m", timedelta(minutes=90)), ("2 hours", timedelta(hours=2)),
    ("1w", timedelta(days=7)), ("90 min", timedelta(minutes=90)),
])
def test_lengths(text: str, length: timedelta) -> None:
    spec = parse_spec(text.split(), WhenKind.FOR)
    assert spec.duration == length and not spec.needs_zone
    assert resolve(spec, NOW, None) == NOW + length  # no time zone needed for a length


@pytest.mark.parametrize(("text", "kind"), [("2x", WhenKind.FOR), ("soon", WhenKind.FOR), ("2h", WhenKind.UNTIL),
                                            ("25:00", WhenKind.AT), ("9", WhenKind.AT), ("13pm", WhenKind.AT),
                                            ("2026-02-30 09:00", WhenKind.AT), ("tomorrow", WhenKind.AT),
                                            ("in soon", WhenKind.AT)])
def test_what_is_not_a_time_is_refused_with_examples(text: str, kind: WhenKind) -> None:
    with pytest.raises(WhenError, match="not a"):
        parse_spec(text.split(), kind)


def test_a_clock_time_is_the_next_one_in_the_persons_zone() -> None:
    assert at("21:00") == datetime(2026, 11, 27, 21, 0, tzinfo=UTC)  # later today in London (UTC in winter)
    assert at("09:00") == datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # today's has gone by: tomorrow
    assert at("09:00", zone=NEW_YORK) == datetime(2026, 11, 28, 14, 0, tzinfo=UTC)  # 09:00 EST tomorrow
    assert at("16:00", zone=NEW_YORK) == datetime(2026, 11, 27, 21, 0, tzinfo=UTC)  # 16:00 EST today
    assert at("9am", zone=KOLKATA) == datetime(2026, 11, 28, 3, 30, tzinfo=UTC)
    assert at("9:30pm") == datetime(2026, 11, 27, 21, 30, tzinfo=UTC)
    assert at("noon") == datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_tomorrow_today_and_a_date() -> None:
    assert at("tomorrow 09:00") == datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    assert at("today 21:15") == datetime(2026, 11, 27, 21, 15, tzinfo=UTC)
    assert at("2026-12-01 09:00", zone=NEW_YORK) == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert at("2026-12-01T09:00") == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert parse_spec(["2026-12-01", "09:00"], WhenKind.AT) == TimeSpec("2026-12-01 09:00", day=date(2026, 12, 1),
                                                                        clock=time(9, 0))
    assert at("in 2h", WhenKind.AT, zone=None) == NOW + timedelta(hours=2)


@pytest.mark.parametrize("text", ["today 09:00", "2026-11-27 19:39", "2025-12-01 09:00"])
def test_a_past_time_is_refused(text: str) -> None:
    with pytest.raises(WhenError, match="in the past"):
        at(text)


def test_too_soon_and_too_far_are_refused() -> None:
    with pytest.raises(WhenError, match="less than a minute"):
        at("today 19:40", now=NOW - timedelta(seconds=30))
    with pytest.raises(WhenError, match="more than a year"):
        at("2028-01-01 09:00")
    with pytest.raises(WhenError, match="less than a minute"):
        resolve(TimeSpec("0m", duration=timedelta(0)), NOW, None)


def test_a_time_the_clocks_skip_is_refused() -> None:
    # Europe/London springs forward at 01:00 UTC on 2027-03-28: 01:00–01:59 local does not exist.
    with pytest.raises(WhenError, match="does not exist in Europe/London: the clocks go forward"):
        at("2027-03-28 01:30")
    # New York springs forward on 2027-03-14 at 02:00 local, the day after "now" here.
    with pytest.raises(WhenError, match="does not exist in America/New_York"):
        at("tomorrow 02:30", zone=NEW_YORK, now=datetime(2027, 3, 13, 18, 0, tzinfo=UTC))
    # the next 02:30 is tomorrow's: it is refused, never moved to another day
    with pytest.raises(WhenError, match="does not exist"):
        at("02:30", zone=NEW_YORK, now=datetime(2027, 3, 14, 5, 0, tzinfo=UTC))


def test_a_time_the_clocks_show_twice_is_refused() -> None:
    # Europe/London falls back at 02:00 BST on 2027-10-31: 01:00–01:59 happens twice.
    with pytest.raises(WhenError, match="happens twice in Europe/London: the clocks go back"):
        at("2027-10-31 01:30")
    assert at("2027-10-31 02:30") == datetime(2027, 10, 31, 2, 30, tzinfo=UTC)  # once, after the change


def test_a_clock_time_needs_a_zone() -> None:
    with pytest.raises(WhenError, match="time zone could not be read"):
        at("09:00", zone=None)
    with pytest.raises(WhenError, match="time zone could not be read"):
        at("09:00", zone="Mars/Olympus_Mons")


@pytest.mark.parametrize(("text", "campaign", "kind", "spec"), [
    ("pause winback march for 2h", "winback march", WhenKind.FOR, "2h"),
    ('pause "Weekly Digest" until tomorrow 09:00', "Weekly Digest", WhenKind.UNTIL, "tomorrow 09:00"),
    ("pause digest until 2026-12-01 09:00", "digest", WhenKind.UNTIL, "2026-12-01 09:00"),
    ("resume Weekly Digest at 09:00", "Weekly Digest", WhenKind.AT, "09:00"),
    ("unpause x at in 30m", "x", WhenKind.AT, "in 30m"),
])
def test_commands_with_a_time(text: str, campaign: str, kind: WhenKind, spec: str) -> None:
    request = parse_request(text)
    assert request.command.campaign == campaign and request.when is not None
    assert (request.when.kind, request.when.spec.text) == (kind, spec)


@pytest.mark.parametrize(("text", "campaign"), [
    ("pause offer for vips", "offer for vips"), ('pause "Deals for 2h"', "Deals for 2h"), ("status x for 2h", None),
])
def test_names_holding_the_words_stay_names(text: str, campaign: str | None) -> None:
    request = parse_request(text)
    assert request.when is None
    if campaign is not None:
        assert request.command.campaign == campaign


@pytest.mark.parametrize(("text", "problem"), [
    ("resume x for 2h", "A resume can be scheduled with `at <time>` only"),
    ("pause x for 2x", "“2x” is not a length of time"),
    ("pause x at 25:00", "is not a time"),
    ("pause x 0b6f0d1e-5b5a-5c1e-9d59-3a3b8e0f6a11 at 09:00", "Stopping a send cannot be scheduled"),
])
def test_bad_times_become_usage_with_the_problem_named(text: str, problem: str) -> None:
    request = parse_request(text)
    assert request.command.verb == "help" and request.command.problem is not None
    assert problem in request.command.problem
