"""Comm SMS campaigns: the vendor's object kept whole, and a tolerant, validated view of the parts the bot reads.

PUT replaces the whole campaign, so the bot must send back every field it was given, including the ones it does
not know and the ones whose shape drifts (API_NOTES §2: ``planner_data.days_of_week`` is a list in the PUT body but
a string in GET and POST answers). :class:`Campaign` therefore keeps the raw JSON object exactly as fetched (the
thing that is sent back) and reads from it, field by field, only what the bot reasons about.

Vendor input is untrusted: each field the bot reads is validated on its own (pydantic, strict where a guess would
be dangerous: an ``is_active`` flag must be a real ``true``/``false``). A field that does not validate is left
unread and named in :attr:`Campaign.problems`, never guessed at, and never makes the rest of the campaign, or any
other campaign of a list, unreadable.
"""

from __future__ import annotations

import copy
import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, StrictBool, TypeAdapter, ValidationError

Json = dict[str, Any]
T = TypeVar("T")

# The send types as Comm writes them in its examples; what the bot makes of any value is :func:`send_kind`.
MANUAL, MULTISTEP, PLANNER = "manual", "multistep", "planner"
PLANNED = "planned"  # what earlier Comm data (and the sandbox's older campaigns) call the planner kind


class SendKind(enum.StrEnum):
    """What a campaign's ``meta.send_type`` means, matched by meaning rather than spelling (API_NOTES §2)."""

    MANUAL = "manual"
    MULTISTEP = "multistep"
    PLANNER = "planner"  # "Campaign planner": planner, planned, plan, in any case
    UNKNOWN = "unknown"  # a value the bot has never seen (or none at all): shown as it is


_KINDS = {
    "manual": SendKind.MANUAL,
    "multistep": SendKind.MULTISTEP,
    "planner": SendKind.PLANNER, "planned": SendKind.PLANNER, "plan": SendKind.PLANNER,
    "campaignplanner": SendKind.PLANNER,
}


def send_kind(value: str | None) -> SendKind:
    """``Planner``, ``planned``, ``PLAN``, ``campaign_planner`` → planner; ``multi-step`` → multistep; else
    unknown. Case, spaces, ``-`` and ``_`` do not matter."""
    if not value:
        return SendKind.UNKNOWN
    return _KINDS.get(re.sub(r"[\s_\-]+", "", value).casefold(), SendKind.UNKNOWN)


_STR = TypeAdapter(str)
_INT = TypeAdapter(int)
_FLOAT = TypeAdapter(float)
_FLAG = TypeAdapter(StrictBool)  # "true", 1 or "yes" are not read as true: a flag the bot flips must be a bool


def describe(value: Any) -> str:
    """A value as a short phrase for a note: ``a text ("yes")``, ``a list``, ``a number (3)``."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        shown = value if len(value) <= 30 else value[:29] + "…"
        return f"a text ({json.dumps(shown, ensure_ascii=False)})"
    if isinstance(value, int | float):
        return f"a number ({value:g})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else type(value).__name__


class _Reader:
    """Reads fields out of raw JSON, noting each one that is not what the bot expects instead of failing."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def note(self, where: str, value: Any, expected: str) -> None:
        self.problems.append(f"`{where}` is {describe(value)}, not {expected}")

    def obj(self, parent: Mapping[str, Any] | None, key: str, where: str) -> Mapping[str, Any] | None:
        value = parent.get(key) if parent is not None else None
        if value is None or isinstance(value, dict):
            return value
        self.note(where, value, "an object")
        return None

    def value(self, parent: Mapping[str, Any] | None, key: str, adapter: TypeAdapter[T], where: str,
              expected: str) -> T | None:
        raw = parent.get(key) if parent is not None else None
        if raw is None:
            return None
        try:
            return adapter.validate_python(raw)
        except ValidationError:
            self.note(where, raw, expected)
            return None

    def text(self, parent: Mapping[str, Any] | None, key: str, where: str) -> str | None:
        raw = parent.get(key) if parent is not None else None
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return f"{raw:g}"  # a number where a text was expected is shown as written, not refused
        return self.value(parent, key, _STR, where, "a text")

    def number(self, parent: Mapping[str, Any] | None, key: str, where: str) -> int | None:
        return self.value(parent, key, _INT, where, "a whole number")

    def flag(self, parent: Mapping[str, Any] | None, where: str) -> Flagged:
        if parent is None or "is_active" not in parent or parent["is_active"] is None:
            return Flagged(None, True)
        read = self.value(parent, "is_active", _FLAG, where, "true or false")
        return Flagged(read, read is not None)


@dataclass(frozen=True)
class Flagged:
    """An ``is_active`` as read: ``value`` None when absent or null (Comm's default is active); ``readable`` False
    when it holds something else (a text, a number): then nobody may flip it."""

    value: bool | None
    readable: bool


@dataclass(frozen=True)
class StepData:
    """``multistep_data``: send in steps of ``step_size`` every ``step_delay`` minutes while active."""

    step_size: int | None = None
    step_delay: int | None = None
    is_active: bool | None = None
    flag_readable: bool = True


@dataclass(frozen=True)
class Window:
    start: str | None = None
    end: str | None = None


@dataclass(frozen=True)
class PlannerData:
    """``planner_data`` of a planner (recurring) campaign. ``days_of_week`` comes as a list or as one string
    (``"Mon"``, or ``"Mon,Wed"``): both are read as a tuple of day names."""

    days_of_week: tuple[str, ...] = ()
    weekly_schedule: dict[str, Window | None] = field(default_factory=dict)
    multistep_data: StepData | None = None
    weekly_sms_contact_limit: int | None = None
    daily_sms_contact_limit: int | None = None
    is_active: bool | None = None
    flag_readable: bool = True


@dataclass(frozen=True)
class MultistepStatus:
    current_step: int | None = None
    total_available_contacts: int | None = None
    total_sent: int | None = None
    last_sent_timestamp: float | None = None
    status: str | None = None
    status_reason: str | None = None

    @property
    def last_sent_at(self) -> datetime | None:
        """Epoch seconds (our inference from the seed's ``123``); milliseconds are recognised by their size."""
        stamp = self.last_sent_timestamp
        if stamp is None or stamp <= 0:
            return None
        if stamp > 100_000_000_000:
            stamp /= 1000
        try:
            return datetime.fromtimestamp(stamp, UTC)
        except (OverflowError, OSError, ValueError):
            return None


@dataclass(frozen=True)
class Meta:
    send_type: str | None = None
    multistep_data: StepData | None = None
    planner_data: PlannerData | None = None
    multistep_status: MultistepStatus | None = None


@dataclass(frozen=True)
class CampaignView:
    id: str = ""
    name: str = ""
    status: str | None = None
    meta: Meta = field(default_factory=Meta)


def _steps(reader: _Reader, parent: Mapping[str, Any] | None, key: str, where: str) -> StepData | None:
    data = reader.obj(parent, key, where)
    if data is None:
        return None
    flag = reader.flag(data, f"{where}.is_active")
    return StepData(reader.number(data, "step_size", f"{where}.step_size"),
                    reader.number(data, "step_delay", f"{where}.step_delay"), flag.value, flag.readable)


def _days(reader: _Reader, planner: Mapping[str, Any], where: str) -> tuple[str, ...]:
    raw = planner.get("days_of_week")
    if raw is None:
        return ()
    if isinstance(raw, str):  # GET and POST answers: one day, as a string (seed 003's examples)
        return tuple(day.strip() for day in raw.split(",") if day.strip())
    if isinstance(raw, list) and all(isinstance(day, str) for day in raw):  # the PUT body's shape
        return tuple(day.strip() for day in raw if day.strip())
    reader.note(where, raw, "a day or a list of days")
    return ()


def _schedule(reader: _Reader, planner: Mapping[str, Any], where: str) -> dict[str, Window | None]:
    raw = reader.obj(planner, "weekly_schedule", where)
    found: dict[str, Window | None] = {}
    for day, window in (raw or {}).items():
        if window is None:
            found[str(day)] = None
        elif isinstance(window, dict):
            found[str(day)] = Window(reader.text(window, "start", f"{where}.{day}.start"),
                                     reader.text(window, "end", f"{where}.{day}.end"))
        else:
            reader.note(f"{where}.{day}", window, "an object")
    return found


def _planner(reader: _Reader, meta: Mapping[str, Any] | None) -> PlannerData | None:
    where = "meta.planner_data"
    data = reader.obj(meta, "planner_data", where)
    if data is None:
        return None
    flag = reader.flag(data, f"{where}.is_active")
    return PlannerData(
        days_of_week=_days(reader, data, f"{where}.days_of_week"),
        weekly_schedule=_schedule(reader, data, f"{where}.weekly_schedule"),
        multistep_data=_steps(reader, data, "multistep_data", f"{where}.multistep_data"),
        weekly_sms_contact_limit=reader.number(data, "weekly_sms_contact_limit", f"{where}.weekly_sms_contact_limit"),
        daily_sms_contact_limit=reader.number(data, "daily_sms_contact_limit", f"{where}.daily_sms_contact_limit"),
        is_active=flag.value, flag_readable=flag.readable,
    )


def _progress(reader: _Reader, meta: Mapping[str, Any] | None) -> MultistepStatus | None:
    where = "meta.multistep_status"
    data = reader.obj(meta, "multistep_status", where)
    if data is None:
        return None
    return MultistepStatus(
        current_step=reader.number(data, "current_step", f"{where}.current_step"),
        total_available_contacts=reader.number(data, "total_available_contacts",
                                               f"{where}.total_available_contacts"),
        total_sent=reader.number(data, "total_sent", f"{where}.total_sent"),
        last_sent_timestamp=reader.value(data, "last_sent_timestamp", _FLOAT, f"{where}.last_sent_timestamp",
                                         "a number"),
        status=reader.text(data, "status", f"{where}.status"),
        status_reason=reader.text(data, "status_reason", f"{where}.status_reason"),
    )


def read_view(data: Mapping[str, Any]) -> tuple[CampaignView, tuple[str, ...]]:
    """The view of one campaign object and the notes on what could not be read."""
    reader = _Reader()
    campaign_id = reader.text(data, "id", "id") or ""
    if not campaign_id:
        reader.problems.append("it has no `id`, so the bot cannot read it again or change it")
    meta = reader.obj(data, "meta", "meta")
    view = CampaignView(
        id=campaign_id,
        name=reader.text(data, "name", "name") or "",
        status=reader.text(data, "status", "status"),
        meta=Meta(
            send_type=reader.text(meta, "send_type", "meta.send_type"),
            multistep_data=_steps(reader, meta, "multistep_data", "meta.multistep_data"),
            planner_data=_planner(reader, meta),
            multistep_status=_progress(reader, meta),
        ),
    )
    return view, tuple(reader.problems)


@dataclass(frozen=True)
class Campaign:
    """One campaign as Comm sent it (``raw``), the view of what the bot could read of it (``view``), and what it
    could not (``problems``: short notes naming the field, e.g. ``meta.multistep_data.is_active is a text ("yes"),
    not true or false``)."""

    raw: Any
    view: CampaignView
    problems: tuple[str, ...] = ()

    @classmethod
    def from_raw(cls, data: Any) -> Campaign:
        """Read ``data``; never raises. Anything but a JSON object is kept, with a note and nothing read."""
        if not isinstance(data, dict):
            return cls(copy.deepcopy(data), CampaignView(), (f"the entry is {describe(data)}, not a campaign object",))
        view, problems = read_view(data)
        return cls(copy.deepcopy(data), view, problems)

    @property
    def id(self) -> str:
        return self.view.id

    @property
    def name(self) -> str:
        return self.view.name

    @property
    def status(self) -> str:
        return self.view.status or "unknown"

    @property
    def send_type(self) -> str:
        """``meta.send_type`` as Comm wrote it ("not given" when it has none)."""
        return self.view.meta.send_type or "not given"

    @property
    def kind(self) -> SendKind:
        return send_kind(self.view.meta.send_type)

    @property
    def fully_read(self) -> bool:
        return not self.problems

    def body(self) -> Json:
        """A deep copy of the whole object, to change and PUT back."""
        if not isinstance(self.raw, dict):
            raise ValueError("this campaign entry is not a JSON object; there is nothing to send back")
        return copy.deepcopy(self.raw)


class SendStopped(BaseModel):
    """The answer to stopping one send (shape not documented: only the fields the bot shows are read)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str | None = None
    status: str | None = None
