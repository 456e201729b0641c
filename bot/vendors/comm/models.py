"""Comm SMS campaigns: the vendor's object kept whole, and a validated view of the parts the bot reads.

PUT replaces the whole campaign, so the bot must send back every field it was given, including the ones it
does not know. :class:`Campaign` therefore keeps the raw JSON object as fetched (the thing that is sent back)
and validates a typed, read-only view of it (the thing the bot reasons about). Vendor input is untrusted: a
field of the wrong type fails validation instead of being guessed at.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Json = dict[str, Any]

MANUAL, MULTISTEP, PLANNED = "manual", "multistep", "planned"


class _View(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class StepData(_View):
    """``multistep_data``: send in steps of ``step_size`` every ``step_delay`` minutes while active."""

    step_size: int | None = None
    step_delay: int | None = None
    is_active: bool | None = None


class Window(_View):
    start: str | None = None
    end: str | None = None


class PlannerData(_View):
    """``planner_data`` of a planned (recurring) campaign."""

    days_of_week: list[str] = Field(default_factory=list)
    weekly_schedule: dict[str, Window | None] = Field(default_factory=dict)
    multistep_data: StepData | None = None
    weekly_sms_contact_limit: int | None = None
    daily_sms_contact_limit: int | None = None
    is_active: bool | None = None


class MultistepStatus(_View):
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
        return datetime.fromtimestamp(stamp, UTC)


class Meta(_View):
    send_type: str | None = None
    multistep_data: StepData | None = None
    planner_data: PlannerData | None = None
    multistep_status: MultistepStatus | None = None


class CampaignView(_View):
    id: str = Field(min_length=1)
    name: str = ""
    status: str | None = None
    meta: Meta = Field(default_factory=Meta)


@dataclass(frozen=True)
class Campaign:
    """One campaign as Comm sent it (``raw``) and the validated view of it (``view``)."""

    raw: Json
    view: CampaignView

    @classmethod
    def from_raw(cls, data: Any) -> Campaign:
        """Validate ``data``; raises pydantic's ValidationError (the client turns it into MalformedResponse)."""
        view = CampaignView.model_validate(data)
        return cls(copy.deepcopy(data), view)

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
        return self.view.meta.send_type or "unknown"

    def body(self) -> Json:
        """A deep copy of the whole object, to change and PUT back."""
        return copy.deepcopy(self.raw)


class SendStopped(_View):
    """The answer to stopping one send (shape not documented: only the fields the bot shows are read)."""

    id: str | None = None
    status: str | None = None
