"""Comm SMS campaigns as stored JSON objects, which team owns each, and their sends.

The stored campaign is exactly the object last PUT (or seeded), so a test can assert what the bot sent back.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping
from typing import Any

CAMPAIGN_STATUSES = ("draft", "pending", "in_progress", "sent", "failed", "cancelled")
FINISHED_SEND_STATUSES = frozenset({"stopped", "sent", "failed", "cancelled"})

Campaign = dict[str, Any]


def default_meta() -> dict[str, Any]:
    """What a campaign created with only a name carries (our inference: a manual draft, nothing scheduled)."""
    return {
        "send_type": "manual", "segment_ids": [], "sms_routing_plan_id": None, "filter_segment_id": None,
        "domain_plan_id": None, "use_dedicated_domains": False,
        "manual_data": {"send_amount": None, "send_datetime": None, "throttle_batch_size": 0},
        "multistep_data": None, "planner_data": None, "multistep_status": None,
    }


def deep_merge(target: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """Objects merge key by key; anything else (null included) replaces the value."""
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            deep_merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


class CampaignStore:
    def __init__(self) -> None:
        self.campaigns: dict[str, Campaign] = {}
        self.owners: dict[str, str] = {}
        self.sends: dict[str, dict[str, Any]] = {}

    def add(self, team: str, campaign: Campaign) -> Campaign:
        self.campaigns[campaign["id"]] = campaign
        self.owners[campaign["id"]] = team
        return campaign

    def add_send(self, campaign_id: str, send_id: str, status: str, created_at: str) -> dict[str, Any]:
        send = {"id": send_id, "sms_campaign_id": campaign_id, "status": status, "created_at": created_at}
        self.sends[send_id] = send
        return send

    def for_team(self, team: str) -> list[Campaign]:
        return [campaign for cid, campaign in self.campaigns.items() if self.owners[cid] == team]

    def sends_of(self, campaign_id: str) -> list[dict[str, Any]]:
        return [send for send in self.sends.values() if send["sms_campaign_id"] == campaign_id]

    def create(self, team: str, name: str) -> Campaign:
        return self.add(team, {"id": str(uuid.uuid4()), "name": name, "meta": default_meta(), "status": "draft"})

    def replace(self, campaign_id: str, body: Campaign) -> Campaign:
        self.campaigns[campaign_id] = copy.deepcopy(body)
        return self.campaigns[campaign_id]

    def mutate(self, campaign_id: str, change: Callable[[Campaign], Campaign | None]) -> Campaign:
        """Apply ``change`` to the stored object (in place, or return a replacement)."""
        if campaign_id not in self.campaigns:
            raise KeyError(campaign_id)
        replaced = change(self.campaigns[campaign_id])
        if replaced is not None:
            self.campaigns[campaign_id] = replaced
        return self.campaigns[campaign_id]
