"""Models of the v3 target-group communications (seeds 000-002): the upsert's body items and its answer.

The answer's times (``2025-11-11T12:50:03.444+0000``) are in the cluster's zone: EU clusters write ``+0000``,
India and Singapore ``+0530``; pydantic reads both (and ``Z`` / ``+05:30``) into aware datetimes. A time without
any offset stays naive here; :mod:`bot.target_comms.service` places it in CAPILLARY_TIMEZONE.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, Field

from bot.vendors.capillary.models import VendorModel

CommunicationType = Literal["START", "FINISH", "CHANGE", "REMINDER"]
COMMUNICATION_TYPES: tuple[CommunicationType, ...] = ("START", "FINISH", "CHANGE", "REMINDER")


class CommunicationItem(VendorModel):
    """One element of the upsert's JSON array; all seven documented fields are always sent."""

    active: bool
    channel_id: int = Field(alias="channelId", gt=0)
    communication_type: CommunicationType = Field(alias="communicationType")
    message_template: str = Field(alias="messageTemplate", min_length=1)
    offset_days: int = Field(alias="offsetDays")
    sender: str
    subject_template: str | None = Field(alias="subjectTemplate")

    def body(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


class Person(VendorModel):
    """Who created or last changed a communication (a till, an admin user, ...). Every field may be missing."""

    id: int | None = None
    code: str | None = None
    description: str | None = None
    name: str | None = None
    type: str | None = None

    def label(self) -> str:
        """``madhurima (madhu_rima, TILL)``: name first, then what tells two people of one name apart."""
        name = self.name or self.code or (f"id {self.id}" if self.id is not None else "unknown")
        extra = ", ".join(part for part in (self.code, self.type) if part and part.lower() != name.lower())
        return f"{name} ({extra})" if extra else name


class Attribution(VendorModel):
    created_on: datetime = Field(alias="createdOn")
    last_updated_on: datetime = Field(alias="lastUpdatedOn")
    created_by: Person | None = Field(default=None, alias="createdBy")
    last_updated_by: Person | None = Field(default=None, alias="lastUpdatedBy")


class TargetCommunication(VendorModel):
    """One communication as the upsert (and, by our inference, the list) answers it."""

    id: int
    attribution: Attribution
    target_id: int = Field(alias="targetId")
    target_group_id: int = Field(alias="targetGroupId")
    # A string, not the request's Literal: a type the vendor adds later must not break reading a target.
    communication_type: str = Field(alias="communicationType")
    channel_id: int = Field(alias="channelId")
    subject_template: str | None = Field(default=None, alias="subjectTemplate")
    message_template: str = Field(alias="messageTemplate")
    sender: str
    offset_days: int = Field(alias="offsetDays")
    active: bool

    @property
    def identity(self) -> tuple[str, int]:
        """What the upsert matches on within one target: (communicationType, channelId)."""
        return self.communication_type, self.channel_id


class CommunicationList(VendorModel):
    communications: tuple[TargetCommunication, ...] = Field(alias="data")


class UpsertAnswer(VendorModel):
    communications: tuple[TargetCommunication, ...] = Field(alias="data", min_length=1)
    warnings: tuple[str, ...] = ()
    request_id: str | None = None  # X-Cap-Requestid, for the audit log


class Channel(VendorModel):
    # The channels answer has no documented schema: accept the names a v3 answer would plausibly use.
    id: int = Field(validation_alias=AliasChoices("id", "channelId"), gt=0)
    name: str = Field(validation_alias=AliasChoices("name", "channelName", "channel"), min_length=1)


class ChannelList(VendorModel):
    channels: tuple[Channel, ...] = Field(alias="data")
