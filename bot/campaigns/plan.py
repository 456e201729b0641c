"""What pausing or resuming a Comm campaign changes: a list of ``is_active`` flags, each with before and after.

Comm has no pause endpoint (API_NOTES §2): a multistep campaign runs while ``meta.multistep_data.is_active``
is true, a planner one while ``meta.planner_data.is_active`` (and its nested
``meta.planner_data.multistep_data.is_active``) are. Which flags apply follows the send type, matched by meaning
(bot.vendors.comm.models.send_kind: ``planner``, ``planned``, ``plan`` in any case are the planner kind), so a pause
never touches the settings of a mode the campaign is not in. A manual campaign has no such flag: it cannot be
paused, only one of its sends stopped.

A send type the bot does not know is shown as it is, with the flags the campaign actually has (each of the three
whose object is there); pausing it flips exactly those, and every preview says the type is unknown. A flag that
holds something else than true, false or null, or a campaign without an id, cannot be flipped: the bot says why.
"""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.vendors.comm.models import Campaign, Json, SendKind

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
    readable: bool = True  # False: it holds something else (a text, a number); never flipped

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
    """The ``is_active`` flags that govern this campaign's sending, given its send type (for an unknown type: every
    one of the three the campaign has)."""
    meta = campaign.view.meta
    kind = campaign.kind
    found: list[Flag] = []
    steps, planner = meta.multistep_data, meta.planner_data
    if kind in (SendKind.MULTISTEP, SendKind.UNKNOWN) and steps is not None:
        found.append(Flag(MULTISTEP_FLAG, steps.is_active, steps.flag_readable))
    if kind in (SendKind.PLANNER, SendKind.UNKNOWN) and planner is not None:
        found.append(Flag(PLANNER_FLAG, planner.is_active, planner.flag_readable))
        if planner.multistep_data is not None:
            nested = planner.multistep_data
            found.append(Flag(NESTED_FLAG, nested.is_active, nested.flag_readable))
    return found


def unknown_type(campaign: Campaign) -> bool:
    """The send type is one the bot does not know: what it pauses is only what the preview lists."""
    return campaign.kind is SendKind.UNKNOWN


def activity(campaign: Campaign) -> Activity:
    if blocked_reason(campaign) is not None:
        return Activity.NOT_PAUSABLE
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


def blocked_reason(campaign: Campaign) -> str | None:
    """Why the bot may not flip this campaign's flags although it has some: it has no id, or a flag holds
    something else than true, false or null. None when nothing stands in the way."""
    if not campaign.id:
        return "has no id in Comm's answer, so the bot cannot save it"
    unreadable = [dotted(flag.path) for flag in flags(campaign) if not flag.readable]
    if unreadable:
        return (f"has {', '.join(f'`{name}`' for name in unreadable)} set to something else than true or false, "
                "so the bot will not guess whether it is sending; fix it in Comm")
    return None


def not_pausable_reason(campaign: Campaign) -> str:
    blocked = blocked_reason(campaign)
    if blocked is not None:
        return blocked
    kind = campaign.kind
    if kind is SendKind.MANUAL:
        return ("is a manual campaign: it sends once, when told to, so there is no schedule to pause. "
                "A send that is under way can be stopped (for good) with `/campaign stop <campaign> <sendId>`.")
    if kind in (SendKind.MULTISTEP, SendKind.PLANNER):
        part = "multistep_data" if kind is SendKind.MULTISTEP else "planner_data"
        return (f"is a {kind.value} campaign (send type “{campaign.send_type}”) without `meta.{part}`, so it has no "
                "flag to pause or resume.")
    return (f"has send type “{campaign.send_type}”, which the bot does not know, and none of the `is_active` flags "
            "it knows how to pause or resume.")


@dataclass(frozen=True)
class Plan:
    campaign: Campaign
    op: Op
    changes: tuple[FlagChange, ...]  # only the flags that are not already where the operation puts them
    pausable: bool
    unknown_type: bool = False  # the send type is unknown: the preview must say so, and list exactly these flags

    @property
    def nothing_to_do(self) -> bool:
        return self.pausable and not self.changes


def plan(campaign: Campaign, op: Op) -> Plan:
    found = flags(campaign)
    if not found or blocked_reason(campaign) is not None:
        return Plan(campaign, op, (), pausable=False, unknown_type=unknown_type(campaign))
    changes = tuple(FlagChange(flag.path, flag.value, op.target) for flag in found if flag.active != op.target)
    return Plan(campaign, op, changes, pausable=True, unknown_type=unknown_type(campaign))


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
