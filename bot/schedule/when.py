"""When a scheduled action is due: the words a person types (``for 2h``, ``until 09:00``, ``at tomorrow 09:00``,
``until 2026-12-01 09:00``), read in their own time zone and turned into one instant in UTC.

Reading is two steps. :func:`parse_spec` reads the words alone (no clock, no zone), so a command with a time that
cannot be a time is refused before anything is looked up. :func:`resolve` then fixes the instant from the moment
and the person's Slack time zone (IANA name, ``users.info``'s ``user.tz``). It refuses, with the reason, a time
that is past, too far ahead, too soon, or that the zone's clocks skip (a gap when they go forward) or show twice
(an overlap when they go back): the bot never picks one of two meanings.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MIN_AHEAD = timedelta(minutes=1)
MAX_AHEAD = timedelta(days=366)
_UNITS = {"m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hrs": 3600,
          "hour": 3600, "hours": 3600, "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800,
          "weeks": 604800}
_DURATION = re.compile(r"(\d{1,4})\s*([a-z]+)")
_CLOCK = re.compile(r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<half>am|pm)?")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
EXAMPLES = ("`for 2h`, `for 30m`, `until 09:00`, `until tomorrow 09:00`, `until 2026-12-01 09:00`, `at 22:00`, "
            "`at in 2h`")


class WhenError(ValueError):
    """The time cannot be used; ``str(error)`` says why, for the person who typed it."""


class WhenKind(enum.StrEnum):
    FOR = "for"  # pause now, resume by itself after this long
    UNTIL = "until"  # pause now, resume by itself then
    AT = "at"  # do it then


@dataclass(frozen=True)
class TimeSpec:
    """A time as typed: a duration from now, or a wall-clock time (``clock``) on ``day`` (a date, ``today`` or
    ``tomorrow``, or None: the next time the clock shows it)."""

    text: str
    duration: timedelta | None = None
    day: date | str | None = None
    clock: time | None = None

    @property
    def needs_zone(self) -> bool:
        return self.duration is None


@dataclass(frozen=True)
class When:
    kind: WhenKind
    spec: TimeSpec


def looks_like_time(words: list[str]) -> bool:
    """Whether words after ``for``/``until``/``at`` are meant as a time (so a bad one is an error, not part of a
    campaign's name such as "Offer for VIPs")."""
    if not words:
        return False
    first = words[0].lower()
    return any(char.isdigit() for char in "".join(words)) or first in ("today", "tomorrow", "in", "noon", "midnight")


def _duration(text: str) -> timedelta | None:
    compact = text.replace(" ", "").lower()
    if not compact:
        return None
    parts = _DURATION.findall(text.lower())
    if not parts or "".join(f"{number}{unit}" for number, unit in parts) != compact:
        return None
    seconds = 0
    for number, unit in parts:
        if unit not in _UNITS:
            return None
        seconds += int(number) * _UNITS[unit]
    return timedelta(seconds=seconds)


def _clock(text: str) -> time | None:
    lowered = text.lower().replace(" ", "")
    if lowered == "noon":
        return time(12, 0)
    if lowered == "midnight":
        return time(0, 0)
    match = _CLOCK.fullmatch(lowered)
    if match is None or (match["minute"] is None and match["half"] is None):
        return None  # a bare "9" is not a time
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    if match["half"] is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["half"] == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_spec(words: list[str], kind: WhenKind) -> TimeSpec:
    """The time ``words`` name, for ``kind``; :class:`WhenError` says what is wrong with them."""
    text = " ".join(words).strip()
    if not text:
        raise WhenError(f"Say when after `{kind.value}`: e.g. {EXAMPLES}.")
    if kind is WhenKind.FOR:
        length = _duration(text)
        if length is None:
            raise WhenError(f"“{text}” is not a length of time: use e.g. `for 2h`, `for 30m`, `for 1d` or `for 1h30m`.")
        return TimeSpec(text, duration=length)
    if kind is WhenKind.AT and words[0].lower() == "in":
        length = _duration(" ".join(words[1:]))
        if length is None:
            raise WhenError(f"“{text}” is not a length of time: use e.g. `at in 2h` or `at in 30m`.")
        return TimeSpec(text, duration=length)
    day: date | str | None = None
    rest = list(words)
    head = rest[0].lower()
    if head in ("today", "tomorrow"):
        day, rest = head, rest[1:]
    elif (found := _DATE.fullmatch(head.split("t")[0])) is not None:
        try:
            day = date(int(found[1]), int(found[2]), int(found[3]))
        except ValueError:
            raise WhenError(f"“{rest[0]}” is not a date.") from None
        after_t = rest[0].partition("T")[2] or rest[0].partition("t")[2]
        rest = ([after_t] if after_t else []) + rest[1:]
    clock = _clock(" ".join(rest)) if rest else None
    if clock is None:
        raise WhenError(f"“{text}” is not a time: use e.g. {EXAMPLES} (24-hour times, or 9am / 9:30pm).")
    return TimeSpec(text, day=day, clock=clock)


def zone_of(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _on(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock)


def localize(naive: datetime, zone: ZoneInfo, zone_name: str) -> datetime:
    """``naive`` read as a wall-clock time in ``zone``, in UTC; refused when the zone skips it or shows it twice."""
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    shown = f"{naive:%Y-%m-%d %H:%M}"
    if first.utcoffset() != second.utcoffset():
        if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
            raise WhenError(f"{shown} does not exist in {zone_name}: the clocks go forward then (daylight saving "
                            "time). Give another time, or a length such as `for 2h`.")
        raise WhenError(f"{shown} happens twice in {zone_name}: the clocks go back then (daylight saving time), "
                        "so it is ambiguous. Give another time, or a length such as `for 2h`.")
    return first.astimezone(UTC)


def resolve(spec: TimeSpec, now: datetime, zone_name: str | None) -> datetime:
    """The instant (UTC) ``spec`` names at ``now`` for a person in ``zone_name``; :class:`WhenError` says why
    it cannot be used (past, too soon, too far, no such time or two of them, no time zone)."""
    if spec.duration is not None:
        if spec.duration < MIN_AHEAD:
            raise WhenError(f"{spec.text} is less than a minute: do it now instead, or give a longer time.")
        due = now + spec.duration
    else:
        zone = zone_of(zone_name)
        if zone is None or zone_name is None:
            raise WhenError("Your Slack time zone could not be read, so a clock time cannot be placed: give a length "
                            "instead, e.g. `for 2h` or `at in 2h`.")
        assert spec.clock is not None
        local_now = now.astimezone(zone)
        if isinstance(spec.day, date):
            due = localize(_on(spec.day, spec.clock), zone, zone_name)
        elif spec.day == "tomorrow":
            due = localize(_on(local_now.date() + timedelta(days=1), spec.clock), zone, zone_name)
        elif spec.day == "today":
            due = localize(_on(local_now.date(), spec.clock), zone, zone_name)
        else:  # the next time the clock shows it: today, or tomorrow when today's has gone by
            naive = _on(local_now.date(), spec.clock)
            if naive <= local_now.replace(tzinfo=None):
                naive = _on(local_now.date() + timedelta(days=1), spec.clock)
            due = localize(naive, zone, zone_name)
    if due <= now:
        raise WhenError(f"{spec.text} is in the past. Give a time to come.")
    if due - now < MIN_AHEAD:
        raise WhenError(f"{spec.text} is less than a minute away: do it now instead, or give a later time.")
    if due - now > MAX_AHEAD:
        raise WhenError(f"{spec.text} is more than a year away; the bot schedules at most {MAX_AHEAD.days} days "
                        "ahead.")
    return due
