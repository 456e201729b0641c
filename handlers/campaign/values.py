"""What a Pause or Resume button carries: the campaign, and the state its message showed (bot.campaigns.plan.Basis).

The value is compact JSON, ``{"c": "<campaign id>", "s": "10", "t": 1764268919123456}``: ``s`` has one digit per
flag that governs sending (bot.campaigns.plan.flags order), 1 on and 0 off; ``t`` is when the campaign was read,
in microseconds since the epoch, so that it compares exactly with the audit log's times. About 80 characters, far
under Slack's 2,000.

Reading it is strict: anything but exactly that shape (or, from messages posted before buttons carried a state, a
bare campaign id) is refused, never guessed at. A bare id has no basis: the click then shows the campaign as it is
and asks again, since the message it came from may show a state long gone.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.campaigns.args import is_uuid
from bot.campaigns.plan import Basis

MAX_VALUE = 2000  # Slack's limit on a button's value
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
UNKNOWN = Basis((), EPOCH)  # a button that does not say what it was made against
_UUID = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"


class ToggleValue(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    c: str = Field(pattern=_UUID)  # the campaign id
    s: str = Field(pattern=r"^[01]{1,3}$")  # its is_active flags as the message showed them: 1 on, 0 off
    t: int = Field(ge=0, lt=10**17)  # when they were read: microseconds since the epoch


def _microseconds(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)  # exact: no float on the way


def toggle_value(campaign_id: str, basis: Basis) -> str:
    value = ToggleValue(c=campaign_id, s="".join("1" if on else "0" for on in basis.state),
                        t=_microseconds(basis.read_at)).model_dump_json()
    if len(value) > MAX_VALUE:  # cannot happen with a UUID and at most three flags; never send one Slack refuses
        raise ValueError(f"a toggle button's value has {len(value)} characters, more than Slack's {MAX_VALUE}")
    return value


def read_toggle_value(value: str) -> tuple[str, Basis] | None:
    """The campaign id and what the button was made against (:data:`UNKNOWN` for a bare id); None when the value
    is not one this bot makes."""
    if len(value) > MAX_VALUE:
        return None
    if is_uuid(value) and len(value) == 36:
        return value, UNKNOWN
    try:
        parsed = ToggleValue.model_validate_json(value)
    except ValidationError:
        return None
    read_at = EPOCH + timedelta(microseconds=parsed.t)
    return parsed.c, Basis(tuple(digit == "1" for digit in parsed.s), read_at)


# Scheduling ---------------------------------------------------------------------------------------------------------
# A confirm button of ``pause … for|until|at`` and ``resume … at`` carries what its Pause button would, plus when the
# action is due (epoch seconds, as the preview showed it), the time zone the time was read in, and for a length
# (``for 2h``, ``at in 30m``) the length in seconds, which counts from the click:
# ``{"c": "<campaign id>", "s": "10", "t": 1764268919123456, "d": 1764320400, "z": "Europe/London", "l": null}``.
# A Cancel button carries the scheduled action's id (32 hexadecimal digits).

_ZONE = r"^[A-Za-z0-9_+\-/]{1,64}$"
_ACTION_ID = re.compile(r"[0-9a-f]{32}")


class ScheduleValue(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    c: str = Field(pattern=_UUID)
    s: str = Field(pattern=r"^[01]{1,3}$")
    t: int = Field(ge=0, lt=10**17)
    d: int = Field(ge=0, lt=10**11)  # when it is due: seconds since the epoch
    z: str | None = Field(default=None, pattern=_ZONE)
    l: int | None = Field(default=None, ge=60, le=400 * 86400)  # noqa: E741  # a length: from the click


@dataclass(frozen=True)
class ScheduleButton:
    campaign_id: str
    basis: Basis
    due_at: datetime
    zone: str | None
    key: str  # the same for every click on this button: a second click finds what the first scheduled
    length: timedelta | None = None  # for a length (``for 2h``): the due time is this long after the click


def schedule_value(campaign_id: str, basis: Basis, due_at: datetime, zone: str | None,
                   length: timedelta | None = None) -> str:
    value = ScheduleValue(c=campaign_id, s="".join("1" if on else "0" for on in basis.state),
                          t=_microseconds(basis.read_at), d=int(due_at.timestamp()), z=zone,
                          l=int(length.total_seconds()) if length is not None else None).model_dump_json()
    if len(value) > MAX_VALUE:  # cannot happen: a UUID, three flags, two numbers and a zone name
        raise ValueError(f"a schedule button's value has {len(value)} characters, more than Slack's {MAX_VALUE}")
    return value


def read_schedule_value(action_id: str, value: str) -> ScheduleButton | None:
    """What a schedule confirm button carries; None when the value is not one this bot makes."""
    if len(value) > MAX_VALUE:
        return None
    try:
        parsed = ScheduleValue.model_validate_json(value)
    except ValidationError:
        return None
    key = hashlib.sha256(f"{action_id}\n{value}".encode()).hexdigest()
    return ScheduleButton(parsed.c, Basis(tuple(digit == "1" for digit in parsed.s),
                                          EPOCH + timedelta(microseconds=parsed.t)),
                          datetime.fromtimestamp(parsed.d, UTC), parsed.z, key,
                          timedelta(seconds=parsed.l) if parsed.l is not None else None)


def read_cancel_value(value: str) -> str | None:
    return value if _ACTION_ID.fullmatch(value) else None
