"""What pausing or resuming a Comm campaign changes: a list of ``is_active`` flags, each with before and after.

Comm has no pause endpoint (API_NOTES §2): a multistep campaign runs while ``meta.multistep_data.is_active``
is true, a planned one while ``meta.planner_data.is_active`` (and its nested
``meta.planner_data.multistep_data.is_active``) are. Which flags apply follows the send type, so a pause never
touches the settings of a mode the campaign is not in. A manual campaign has no such flag: it cannot be paused,
only one of its sends stopped.
"""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.vendors.comm.models import MANUAL, MULTISTEP, PLANNED, Campaign, Json

Path = tuple[str, ...]

MULTISTEP_FLAG: Path = ("meta", "multistep_data", "is_active")
PLANNER_FLAG: Path = ("meta", "planner_data", "is_active")
NESTED_FLAG: Path = ("meta", "planner_data", "multistep_data", "is_active")
# Progress Comm keeps up to date by itself: it moves between our save and our check without anyone editing.
VOLATILE: frozenset[Path] = frozenset({("meta", "multistep_status")})


class Op(enum.StrEnum):
    PAUSE = "pause"
    RESUME = "resume"

    @property
    def target(self) -> bool:
        """The value every flag has once this operation is done."""
        return self is Op.RESUME

    @property
    def opposite(self) -> Op:
        return Op.RESUME if self is Op.PAUSE else Op.PAUSE

    @property
    def past(self) -> str:
        return "paused" if self is Op.PAUSE else "resumed"


class Activity(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    PARTLY_PAUSED = "partly paused"
    NOT_PAUSABLE = "not pausable"


def dotted(path: Path) -> str:
    return ".".join(path)


@dataclass(frozen=True)
class Flag:
    path: Path
    value: bool | None  # None: the flag is absent or null, which Comm treats as active (its default is true)

    @property
    def active(self) -> bool:
        return self.value is not False


@dataclass(frozen=True)
class FlagChange:
    path: Path
    before: bool | None
    after: bool

    @property
    def name(self) -> str:
        return dotted(self.path)


def flags(campaign: Campaign) -> list[Flag]:
    """The ``is_active`` flags that govern this campaign's sending, given its send type."""
    meta = campaign.view.meta
    if campaign.send_type == MULTISTEP and meta.multistep_data is not None:
        return [Flag(MULTISTEP_FLAG, meta.multistep_data.is_active)]
    if campaign.send_type == PLANNED and meta.planner_data is not None:
        found = [Flag(PLANNER_FLAG, meta.planner_data.is_active)]
        if meta.planner_data.multistep_data is not None:
            found.append(Flag(NESTED_FLAG, meta.planner_data.multistep_data.is_active))
        return found
    return []


def activity(campaign: Campaign) -> Activity:
    return activity_of(flag_state(campaign))


def flag_state(campaign: Campaign) -> tuple[bool, ...]:
    """Whether each flag that governs sending is on, in :func:`flags` order."""
    return tuple(flag.active for flag in flags(campaign))


def activity_of(on: tuple[bool, ...]) -> Activity:
    if not on:
        return Activity.NOT_PAUSABLE
    if all(on):
        return Activity.ACTIVE
    return Activity.PARTLY_PAUSED if any(on) else Activity.PAUSED


@dataclass(frozen=True)
class Basis:
    """What a Pause or Resume button was made against: the flags' :func:`flag_state` as its message showed them, and
    when that was read. An empty ``state`` means not known (a button from before buttons carried it)."""

    state: tuple[bool, ...]
    read_at: datetime

    @property
    def known(self) -> bool:
        return bool(self.state)


def not_pausable_reason(campaign: Campaign) -> str:
    if campaign.send_type == MANUAL:
        return ("is a manual campaign: it sends once, when told to, so there is no schedule to pause. "
                "A send that is under way can be stopped (for good) with `/campaign stop <campaign> <sendId>`.")
    if campaign.send_type in (MULTISTEP, PLANNED):
        part = "multistep_data" if campaign.send_type == MULTISTEP else "planner_data"
        return f"is a {campaign.send_type} campaign without `meta.{part}`, so it has no flag to pause or resume."
    return f"has send type “{campaign.send_type}”, which has no flag the bot knows how to pause or resume."


@dataclass(frozen=True)
class Plan:
    campaign: Campaign
    op: Op
    changes: tuple[FlagChange, ...]  # only the flags that are not already where the operation puts them
    pausable: bool

    @property
    def nothing_to_do(self) -> bool:
        return self.pausable and not self.changes


def plan(campaign: Campaign, op: Op) -> Plan:
    found = flags(campaign)
    changes = tuple(FlagChange(flag.path, flag.value, op.target) for flag in found if flag.active != op.target)
    return Plan(campaign, op, changes, pausable=bool(found))


def applied(campaign: Campaign, changes: tuple[FlagChange, ...]) -> Json:
    """The whole campaign object with ``changes`` made and nothing else touched: the body to PUT."""
    body = campaign.body()
    for change in changes:
        parent: Any = body
        for key in change.path[:-1]:
            parent = parent[key]
        parent[change.path[-1]] = change.after
    return body


@dataclass(frozen=True)
class Difference:
    path: Path
    sent: Any
    found: Any

    @property
    def name(self) -> str:
        return dotted(self.path)


_MISSING = object()


def differences(sent: Json, found: Json) -> list[Difference]:
    """Where the object Comm now holds differs from what was saved (id, name and meta; live progress aside)."""
    out: list[Difference] = []

    def walk(path: Path, left: Any, right: Any) -> None:
        if path in VOLATILE:
            return
        if isinstance(left, dict) and isinstance(right, dict):
            for key in [*left, *(k for k in right if k not in left)]:
                walk((*path, str(key)), left.get(key, _MISSING), right.get(key, _MISSING))
        elif left != right or type(left) is not type(right):
            out.append(Difference(path, None if left is _MISSING else copy.deepcopy(left),
                                  None if right is _MISSING else copy.deepcopy(right)))

    for key in ("id", "name", "meta"):
        walk((key,), sent.get(key, _MISSING), found.get(key, _MISSING))
    return out
