"""The demo data every fresh :class:`SandboxState` starts from, with times relative to the seeding moment.

``SEED`` names the ids tests and docs can rely on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.devtools.sandbox.campaigns import CampaignStore
from bot.devtools.sandbox.clock import comm_timestamp
from bot.devtools.sandbox.credentials import ADMIN_USER, DEMO
from bot.devtools.sandbox.drift import NAMES as DRIFTED
from bot.devtools.sandbox.drift import drifted_campaigns
from bot.devtools.sandbox.loyalty import Communication, LoyaltyStore, Target, TargetGroup
from bot.devtools.sandbox.messages import Customer, Message, MessageStore

_CAMPAIGN_NAMESPACE = uuid.UUID("6f1c2a9e-3b7d-4c51-9a0e-2d8f4b6c1e73")


def campaign_uuid(name: str) -> str:
    return str(uuid.uuid5(_CAMPAIGN_NAMESPACE, name))


def send_uuid(campaign_name: str, number: int) -> str:
    return str(uuid.uuid5(_CAMPAIGN_NAMESPACE, f"{campaign_name}/send/{number}"))


# (name, team, send_type, status, multistep/planner active, nested planner multistep active, sends)
_CAMPAIGNS: list[tuple[str, str, str, str, bool, bool, list[str]]] = [
    ("Winback March", "demo", "multistep", "in_progress", True, True, ["in_progress"]),
    ("Winback March VIP", "demo", "multistep", "in_progress", True, True, ["in_progress"]),
    ("Weekly Digest", "demo", "planned", "in_progress", True, True, ["sent", "in_progress"]),
    ("Cart Abandonment Nudge", "demo", "planned", "pending", False, False, []),
    ("Black Friday Teaser", "demo", "manual", "draft", False, False, []),
    ("Spring Sale Announcement", "demo", "manual", "sent", False, False, ["sent"]),
    ("Flash Sale Retry", "demo", "manual", "failed", False, False, ["failed"]),
    ("Holiday Greetings 2024", "demo", "multistep", "cancelled", False, False, ["stopped"]),
    ("Partner Launch", "other", "manual", "in_progress", False, False, ["in_progress"]),
]


@dataclass(frozen=True)
class SeedFacts:
    org_id: int = DEMO.org_id
    resend_message_id: int = 1746061653596  # seed 004's pair: first resend answers resend_first_result
    resend_first_result: int = 1748743190124
    warning_message_id: int = 1746061653601  # its resend answers a non-empty warnings array
    undelivered_message_ids: tuple[int, ...] = (1746061653596, 1746061653601, 1746061653602, 1746061653611,
                                                1746061653621, 1746061653641, 1746061653642)
    recent_undelivered_message_ids: tuple[int, ...] = (1746061653596, 1746061653601, 1746061653602,
                                                       1746061653611, 1746061653641, 1746061653642)
    delivered_message_id: int = 1746061653597
    watchlist: tuple[str, ...] = ("mobile:919845000001", "mobile:919845000002", "mobile:919845000003",
                                  "mobile:919845000004", "email:emeka.obi@example.com", "external_id:CUST-0006")
    gold_group_id: int = 2750  # targets 2996 (START SMS + REMINDER EMAIL), 2997 (none), 2998 (FINISH SMS)
    festive_group_id: int = 2163  # targets 2317 (START SMS + CHANGE MOBILE PUSH), 2318 (none)
    # The tidy campaigns, then the ones in the shapes Comm's docs drift between (drift.py)
    campaign_ids: dict[str, str] = field(default_factory=lambda: {
        name: campaign_uuid(name) for name in [*(row[0] for row in _CAMPAIGNS), *DRIFTED]})
    send_ids: dict[str, list[str]] = field(default_factory=lambda: {
        row[0]: [send_uuid(row[0], n) for n in range(len(row[6]))] for row in _CAMPAIGNS})
    synthetic_mobile_example: str = "919900000010"  # any 9199 + 8 digits is a synthetic customer


SEED = SeedFacts()


def seed_loyalty(store: LoyaltyStore, anchor: datetime) -> None:
    gold = store.add_group(TargetGroup(2750, "Gold tier milestones", "Milestones for Gold members", 973))
    festive = store.add_group(TargetGroup(2163, "Festive spend challenge", "Diwali week spend targets", 973))
    for group, rows in ((gold, [(2996, "Spend 10,000 in 30 days", "SALES", 10000),
                                (2997, "Visit 5 stores in a month", "VISITS", 5),
                                (2998, "Refer 3 friends", "REFERRALS", 3)]),
                        (festive, [(2317, "Spend 5,000 during Diwali week", "SALES", 5000),
                                   (2318, "Two weekend visits", "VISITS", 2)])):
        for target_id, name, kind, value in rows:
            group.targets[target_id] = Target(target_id, group.id, name, f"{name} ({group.name})", kind, value)
    created = anchor - timedelta(days=30, hours=3, milliseconds=556)
    edited = anchor - timedelta(days=2, hours=5, milliseconds=111)
    for cid, gid, tid, kind, channel, subject, text, sender, offset, active, changed in [
        (12, 2750, 2996, "START", 1, None, "Hi {{first_name}}, spend 10,000 in 30 days to unlock Gold perks.",
         "CAPLOY", 0, True, created),
        (13, 2750, 2996, "REMINDER", 2, "Only a few days left for Gold",
         "Hi {{first_name}}, you are {{remaining}} away from Gold.", "loyalty@example.com", 7, True, edited),
        (14, 2750, 2998, "FINISH", 1, None, "Thanks for referring 3 friends! Your reward is on its way.",
         "CAPLOY", 0, False, created),
        (15, 2163, 2317, "START", 1, None, "Diwali week: spend 5,000 and win double points.", "CAPLOY", 0, True,
         created),
        (16, 2163, 2317, "CHANGE", 3, "Progress update", "You are {{progress}}% of the way there!", "LoyaltyApp",
         1, True, edited),
    ]:
        store.add_communication(Communication(
            id=cid, target_group_id=gid, target_id=tid, communication_type=kind, channel_id=channel,
            subject_template=subject, message_template=text, sender=sender, offset_days=offset, active=active,
            created_on=created, last_updated_on=changed, created_by=dict(ADMIN_USER), last_updated_by=dict(ADMIN_USER),
        ))


def seed_customers(store: MessageStore, anchor: datetime) -> None:
    def ago(**delta: float) -> datetime:
        return anchor - timedelta(**delta)

    rows: list[tuple[Customer, list[tuple[int, str, str, datetime, str]]]] = [
        (Customer("Asha Rao", 390000001, "919845000001", "asha.rao@example.com", "CUST-0001"), [
            (1746061653596, "sms", "NOT-DELIVERED", ago(hours=2), ""),
            (1746061653597, "sms", "DELIVERED", ago(days=1, hours=3), ""),
            (1746061653598, "email", "OPENED", ago(hours=5), "Your Gold tier is waiting"),
        ]),
        (Customer("Bram de Vries", 390000002, "919845000002", "bram.devries@example.com", "CUST-0002"), [
            (1746061653601, "sms", "FAILED", ago(minutes=40), ""),
            (1746061653602, "email", "SOFT_BOUNCED", ago(hours=3), "Double points this weekend"),
        ]),
        (Customer("Chen Wei", 390000003, "919845000003", None, "CUST-0003"), [
            (1746061653611, "sms", "GTW_NOT_FOUND", ago(hours=6), ""),
            (1746061653612, "sms", "DELIVERED", ago(days=2), ""),
        ]),
        (Customer("Divya Nair", 390000004, "919845000004", "divya.nair@example.com", "CUST-0004"), [
            (1746061653621, "sms", "NOT-DELIVERED", ago(days=3), ""),
            (1746061653622, "email", "DELIVERED", ago(hours=1), "Your points statement"),
        ]),
        (Customer("Emeka Obi", 390000005, "919845000005", "emeka.obi@example.com", "CUST-0005"), [
            (1746061653631, "sms", "DELIVERED", ago(hours=8), ""),
            (1746061653632, "email", "OPENED", ago(hours=9), "Welcome to Gold"),
        ]),
        (Customer("Farah Khan", 390000006, None, "farah.khan@example.com", "CUST-0006"), [
            (1746061653641, "email", "NOT-DELIVERED", ago(minutes=20), "Your festive voucher"),
            (1746061653642, "push", "FAILED", ago(hours=10), "Festive voucher inside"),
        ]),
    ]
    warnings: dict[int, list[dict[str, Any]]] = {SEED.warning_message_id: [
        {"status": True, "code": 8069,
         "message": "Message resent through the fallback gateway; delivery may be delayed"}]}
    for customer, messages in rows:
        for number, (message_id, channel, status, sent_at, subject) in enumerate(messages):
            customer.messages.append(Message(message_id, channel, status, sent_at, customer.receiver(channel),
                                             subject, 118_201 + number, customer.user_id,
                                             warnings.get(message_id, [])))
        store.add_customer(customer)
    store.first_resend[SEED.resend_message_id] = SEED.resend_first_result


def _multistep(active: bool, anchor: datetime, step_size: int = 200) -> dict[str, Any]:
    return {"step_size": step_size, "step_delay": 5, "min_ctr": 1.5, "max_sms_to_send": 5000,
            "max_minutes_to_send": 600, "send_datetime": comm_timestamp(anchor - timedelta(days=1)),
            "is_active": active}


def _planner(active: bool, nested_active: bool, anchor: datetime) -> dict[str, Any]:
    hours = {"start": "09:00", "end": "18:00"}
    schedule = {"default": dict(hours), **{day: dict(hours) for day in ("Mon", "Tue", "Wed", "Thu", "Fri")},
                "Sat": {"start": "10:00", "end": "14:00"}, "Sun": {"start": "10:00", "end": "14:00"}}
    return {"days_of_week": ["Mon", "Wed", "Fri"], "weekly_schedule": schedule,
            "multistep_data": _multistep(nested_active, anchor, step_size=2), "weekly_sms_contact_limit": 5,
            "daily_sms_contact_limit": 1, "is_active": active}


def _campaign(name: str, send_type: str, status: str, active: bool, nested: bool, anchor: datetime) -> dict[str, Any]:
    started = int((anchor - timedelta(days=1)).timestamp())
    progress: dict[str, Any] | None = None
    if status != "draft":
        total = 12000 if send_type != "manual" else 4000
        sent = {"sent": total, "in_progress": total // 5, "pending": 0}.get(status, total // 10)
        progress = {"current_step": sent // 200, "total_available_contacts": total, "total_sent": sent,
                    "last_sent_timestamp": int((anchor - timedelta(minutes=12)).timestamp()),
                    "start_timestamp": started, "initial_brands": [], "steps_performance": [],
                    "status": status, "status_reason": None, "last_timezones": [], "planner_data": None}
    meta: dict[str, Any] = {
        "send_type": send_type, "segment_ids": [campaign_uuid(name + "/segment")],
        "sms_routing_plan_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a", "filter_segment_id": None,
        "domain_plan_id": None, "use_dedicated_domains": False,
        "manual_data": None, "multistep_data": None, "planner_data": None, "multistep_status": progress,
    }
    if send_type == "manual":
        meta["manual_data"] = {"send_amount": 4000, "send_datetime": comm_timestamp(anchor - timedelta(hours=6)),
                               "throttle_batch_size": 0}
    elif send_type == "multistep":
        meta["multistep_data"] = _multistep(active, anchor)
    else:
        meta["planner_data"] = _planner(active, nested, anchor)
        if progress is not None:
            progress["planner_data"] = _planner(active, nested, anchor)
    return {"id": campaign_uuid(name), "name": name, "meta": meta, "status": status}


def seed_campaigns(store: CampaignStore, anchor: datetime) -> None:
    for name, team, send_type, status, active, nested, sends in _CAMPAIGNS:
        campaign = store.add(team, _campaign(name, send_type, status, active, nested, anchor))
        for number, send_status in enumerate(sends):
            created = comm_timestamp(anchor - timedelta(hours=6 * (len(sends) - number)))
            store.add_send(campaign["id"], send_uuid(name, number), send_status, created)
    for raw in drifted_campaigns(anchor, campaign_uuid):
        store.add("demo", raw)
