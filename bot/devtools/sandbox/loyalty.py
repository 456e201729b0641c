"""Target groups, their targets and the communications a target sends (the v3 target-group APIs).

Identity rule for upsert (our inference from seed 002): a communication is identified by (targetGroupId, targetId,
communicationType, channelId). The seed's answer after "communication type changed to START" has createdOn equal to
lastUpdatedOn, i.e. changing the type created a new communication instead of updating the old one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from bot.devtools.sandbox.clock import capillary_timestamp

CHANNELS: dict[int, str] = {1: "SMS", 2: "EMAIL", 3: "MOBILE PUSH"}
COMMUNICATION_TYPES = ("START", "FINISH", "CHANGE", "REMINDER")

Identity = tuple[str, int]  # (communicationType, channelId) within one target


@dataclass
class Communication:
    id: int
    target_group_id: int
    target_id: int
    communication_type: str
    channel_id: int
    subject_template: str | None
    message_template: str
    sender: str
    offset_days: int
    active: bool
    created_on: datetime
    last_updated_on: datetime
    created_by: dict[str, Any]
    last_updated_by: dict[str, Any]

    def render(self, zone: tzinfo) -> dict[str, Any]:
        """The item shape of the upsert answer (seed 002), key order included."""
        return {
            "id": self.id,
            "attribution": {
                "createdOn": capillary_timestamp(self.created_on, zone),
                "lastUpdatedOn": capillary_timestamp(self.last_updated_on, zone),
                "lastUpdatedBy": dict(self.last_updated_by),
                "createdBy": dict(self.created_by),
            },
            "targetId": self.target_id,
            "targetGroupId": self.target_group_id,
            "communicationType": self.communication_type,
            "channelId": self.channel_id,
            "subjectTemplate": self.subject_template,
            "messageTemplate": self.message_template,
            "sender": self.sender,
            "offsetDays": self.offset_days,
            "active": self.active,
        }


@dataclass
class Target:
    id: int
    group_id: int
    name: str
    description: str
    target_type: str
    value: int
    active: bool = True
    communications: dict[Identity, Communication] = field(default_factory=dict)

    def render(self) -> dict[str, Any]:
        # The docs give no schema for targets; these fields are our inference.
        return {"id": self.id, "targetGroupId": self.group_id, "name": self.name, "description": self.description,
                "targetType": self.target_type, "value": self.value, "active": self.active}


@dataclass
class TargetGroup:
    id: int
    name: str
    description: str
    program_id: int
    active: bool = True
    targets: dict[int, Target] = field(default_factory=dict)

    def render(self) -> dict[str, Any]:
        # The docs give no schema for target groups; these fields are our inference.
        return {"id": self.id, "name": self.name, "description": self.description, "programId": self.program_id,
                "active": self.active, "targetIds": sorted(self.targets)}


@dataclass(frozen=True)
class CommunicationInput:
    """One validated item of an upsert body."""

    active: bool
    channel_id: int
    communication_type: str
    message_template: str
    offset_days: int
    sender: str
    subject_template: str | None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_item(item: Any, index: int) -> CommunicationInput | list[str]:
    """All seven documented fields are required with their JSON types (the docs are silent; we are strict)."""
    where = f"[{index}]"
    if not isinstance(item, dict):
        return [f"{where} must be a JSON object"]
    problems: list[str] = []
    checks: list[tuple[str, bool, str]] = [
        ("active", isinstance(item.get("active"), bool), "a boolean"),
        ("channelId", _is_int(item.get("channelId")), "an integer"),
        ("communicationType", item.get("communicationType") in COMMUNICATION_TYPES,
         "one of " + ", ".join(COMMUNICATION_TYPES)),
        ("messageTemplate", isinstance(item.get("messageTemplate"), str) and bool(item["messageTemplate"].strip()),
         "a non-empty string"),
        ("offsetDays", _is_int(item.get("offsetDays")), "an integer"),
        ("sender", isinstance(item.get("sender"), str), "a string"),
        ("subjectTemplate", item.get("subjectTemplate") is None or isinstance(item.get("subjectTemplate"), str),
         "a string"),
    ]
    for name, ok, expected in checks:
        if name not in item:
            problems.append(f"{where}.{name} is required")
        elif not ok:
            problems.append(f"{where}.{name} must be {expected}")
    if not problems and item["channelId"] not in CHANNELS:
        known = ", ".join(f"{key} {value}" for key, value in CHANNELS.items())
        problems.append(f"{where}.channelId {item['channelId']} is not a channel ({known})")
    if problems:
        return problems
    return CommunicationInput(
        active=item["active"], channel_id=item["channelId"], communication_type=item["communicationType"],
        message_template=item["messageTemplate"], offset_days=item["offsetDays"], sender=item["sender"],
        subject_template=item["subjectTemplate"],
    )


class LoyaltyStore:
    def __init__(self) -> None:
        self.groups: dict[int, TargetGroup] = {}
        self.next_communication_id = 1

    def add_group(self, group: TargetGroup) -> TargetGroup:
        self.groups[group.id] = group
        return group

    def add_communication(self, communication: Communication) -> Communication:
        target = self.groups[communication.target_group_id].targets[communication.target_id]
        target.communications[(communication.communication_type, communication.channel_id)] = communication
        self.next_communication_id = max(self.next_communication_id, communication.id + 1)
        return communication

    def upsert(self, target: Target, item: CommunicationInput, user: dict[str, Any], now: datetime) -> Communication:
        existing = target.communications.get((item.communication_type, item.channel_id))
        if existing is None:
            created = Communication(
                id=self.next_communication_id, target_group_id=target.group_id, target_id=target.id,
                communication_type=item.communication_type, channel_id=item.channel_id,
                subject_template=item.subject_template, message_template=item.message_template, sender=item.sender,
                offset_days=item.offset_days, active=item.active, created_on=now, last_updated_on=now,
                created_by=dict(user), last_updated_by=dict(user),
            )
            return self.add_communication(created)
        existing.subject_template = item.subject_template
        existing.message_template = item.message_template
        existing.sender = item.sender
        existing.offset_days = item.offset_days
        existing.active = item.active
        existing.last_updated_on = now
        existing.last_updated_by = dict(user)
        return existing
