"""Campaigns in the shapes Comm's own docs drift between (API_NOTES §2), seeded beside the tidy ones.

Seed 003 shows ``planner_data.days_of_week`` as a list in the PUT body but as one string (``"Mon"``) in the GET and
POST answers; the recurring kind is the product's "Campaign planner", written ``planner`` (or ``planned``, in any
case); and real objects carry fields the docs never list, lack ones they do, and now and then hold a value of the
wrong type. Each campaign below is one such shape, as raw JSON: the sandbox never reads them through the bot's
models, so a misreading in the client cannot hide behind the same misreading here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.devtools.sandbox.clock import comm_timestamp

Raw = dict[str, Any]

DAILY_PLANNER = "Daily Loyalty Planner"  # send_type planner, days_of_week a string (GET/POST answers' shape)
PAYDAY = "Payday Reminder"  # send_type planner, days_of_week a list (the PUT body's shape), paused
WEEKEND = "Weekend Flash"  # send_type "Planned": another spelling, another case
DRIP = "Drip Onboarding"  # send_type "drip": a type the bot does not know, with one is_active flag
LEGACY = "Legacy Import"  # fields the docs never list, and optional ones missing
BROKEN = "Broken Sync"  # a flag that is a text, a count that is not a number: listed with a note, never flipped
NAMES = (DAILY_PLANNER, PAYDAY, WEEKEND, DRIP, LEGACY, BROKEN)


def _window(start: str, end: str) -> Raw:
    return {"start": start, "end": end}


def _steps(active: Any, anchor: datetime, step_size: int = 2) -> Raw:
    return {"step_size": step_size, "step_delay": 5, "min_ctr": 1.5, "max_sms_to_send": 2000,
            "max_minutes_to_send": 300, "send_datetime": comm_timestamp(anchor - timedelta(days=2)),
            "is_active": active}


def _planner(days: Any, active: bool, nested: bool | None, anchor: datetime) -> Raw:
    planner: Raw = {"days_of_week": days,
                    "weekly_schedule": {"default": _window("10:00", "16:00"), "Mon": _window("09:00", "12:00")},
                    "multistep_data": _steps(nested, anchor) if nested is not None else None,
                    "weekly_sms_contact_limit": 3, "daily_sms_contact_limit": 1, "is_active": active}
    return planner


def _progress(status: str, anchor: datetime, sent: Any = 480, planner: Raw | None = None) -> Raw:
    return {"current_step": 4, "total_available_contacts": 2400, "total_sent": sent,
            "last_sent_timestamp": int((anchor - timedelta(minutes=30)).timestamp()),
            "start_timestamp": int((anchor - timedelta(days=1)).timestamp()), "initial_brands": [],
            "steps_performance": [], "status": status, "status_reason": None, "last_timezones": [],
            "planner_data": copy.deepcopy(planner)}


def _meta(send_type: Any, **parts: Any) -> Raw:
    meta: Raw = {"send_type": send_type, "segment_ids": [], "sms_routing_plan_id": None, "filter_segment_id": None,
                 "domain_plan_id": None, "use_dedicated_domains": False, "manual_data": None,
                 "multistep_data": None, "planner_data": None, "multistep_status": None}
    meta.update(parts)
    return meta


def drifted_campaigns(anchor: datetime, campaign_id: Callable[[str], str]) -> list[Raw]:
    """The drifted campaigns of the demo team, ids from ``campaign_id(name)``."""
    daily = _planner("Mon", True, True, anchor)  # one day, as a string, exactly as seed 003's GET answer shows it
    payday = _planner(["Tue", "Fri"], False, False, anchor)
    weekend = _planner("Sat", True, True, anchor)
    legacy_planner = {"days_of_week": "Wed", "is_active": True, "timezone": "Asia/Kolkata"}  # no schedule, no limits
    broken_steps = _steps("yes", anchor, step_size=100)
    return [
        {"id": campaign_id(DAILY_PLANNER), "name": DAILY_PLANNER, "status": "in_progress",
         "meta": _meta("planner", planner_data=daily,
                       multistep_status=_progress("in_progress", anchor, planner=daily))},
        {"id": campaign_id(PAYDAY), "name": PAYDAY, "status": "pending",
         "meta": _meta("planner", planner_data=payday)},
        {"id": campaign_id(WEEKEND), "name": WEEKEND, "status": "in_progress",
         "meta": _meta("Planned", planner_data=weekend, multistep_status=_progress("in_progress", anchor))},
        {"id": campaign_id(DRIP), "name": DRIP, "status": "in_progress",
         "meta": _meta("drip", multistep_data=_steps(True, anchor, step_size=50),
                       drip_data={"interval_days": 3, "steps": 4})},
        {"id": campaign_id(LEGACY), "name": LEGACY, "status": "pending", "created_at": comm_timestamp(anchor),
         "updated_at": None, "team_id": 42, "tags": ["imported", "2019"],
         "meta": {"send_type": "planner", "planner_data": legacy_planner, "ab_test": {"variant": "B", "share": 0.5},
                  "throttle": None}},
        {"id": campaign_id(BROKEN), "name": BROKEN, "status": "in_progress",
         "meta": _meta("multistep", multistep_data=broken_steps,
                       multistep_status=_progress("in_progress", anchor, sent="n/a"))},
    ]
