"""Customers, their message histories (the interaction API) and resends.

Lookups are dictionary hits: customers are indexed by every identifier, messages by id, and the synthetic
customers of the benchmark (``mobile:9199xxxxxxxx``) are computed from the number itself, so 10,000 of them
cost nothing until they are asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from bot.devtools.sandbox.clock import capillary_sent_date

IDENTIFIER_NAMES = ("mobile", "email", "external_id")
DELIVERED_STATUSES = frozenset({"DELIVERED", "OPENED"})
CHANNEL_ORDER = ("sms", "email", "push")

SYNTHETIC_MOBILE = re.compile(r"^9199(\d{8})$")
SYNTHETIC_BASE_ID = 1_800_000_000_000  # synthetic message ids: base + 4 * n + k, k in 0..2
SYNTHETIC_PER_CUSTOMER = 4


@dataclass
class Message:
    id: int
    channel: str
    status: str
    sent_at: datetime
    receiver: str
    subject: str
    campaign_id: int
    user_id: int
    resend_warnings: list[dict[str, Any]] = field(default_factory=list)

    def render(self, zone: tzinfo) -> dict[str, Any]:
        delivered = None
        if self.status in DELIVERED_STATUSES:
            delivered = capillary_sent_date(self.sent_at + timedelta(seconds=4), zone)
        return {"id": self.id, "receiver": self.receiver, "subject": self.subject, "campaignId": self.campaign_id,
                "status": self.status, "sentDate": capillary_sent_date(self.sent_at, zone),
                "deliveredTime": delivered, "userId": self.user_id}


@dataclass
class Customer:
    name: str
    user_id: int
    mobile: str | None = None
    email: str | None = None
    external_id: str | None = None
    messages: list[Message] = field(default_factory=list)

    def identifiers(self) -> list[tuple[str, str]]:
        pairs = [("mobile", self.mobile), ("email", self.email), ("external_id", self.external_id)]
        return [(name, normalise(name, value)) for name, value in pairs if value]

    def receiver(self, channel: str) -> str:
        if channel == "email":
            return self.email or ""
        return self.mobile or self.external_id or self.email or ""

    def render(self, zone: tzinfo, channel: str | None) -> dict[str, Any]:
        """The v2 interaction answer: one entry per channel, newest message first."""
        by_channel: dict[str, list[Message]] = {}
        for message in sorted(self.messages, key=lambda m: m.sent_at, reverse=True):
            by_channel.setdefault(message.channel, []).append(message)
        names = [c for c in CHANNEL_ORDER if c in by_channel] + sorted(set(by_channel) - set(CHANNEL_ORDER))
        if channel is not None:
            names = [name for name in names if name == channel]
        interaction = [{"count": len(by_channel[name]), "name": name,
                        "messageList": [message.render(zone) for message in by_channel[name]]} for name in names]
        return {"name": self.name, "interaction": interaction, "warnings": []}


def normalise(identifier_name: str, value: str) -> str:
    value = value.strip()
    return value.lower() if identifier_name == "email" else value


def synthetic_customer(number: int, anchor: datetime) -> Customer:
    """Customer ``9199`` + ``number`` (8 digits): one delivered SMS, one recent SMS whose status depends on the
    number (n % 10 == 0 NOT-DELIVERED, == 5 FAILED, else DELIVERED), one opened email."""
    mobile = f"9199{number:08d}"
    user_id = 500_000_000 + number
    base = SYNTHETIC_BASE_ID + SYNTHETIC_PER_CUSTOMER * number
    recent_status = {0: "NOT-DELIVERED", 5: "FAILED"}.get(number % 10, "DELIVERED")
    customer = Customer(name=f"Synthetic Customer {number}", user_id=user_id, mobile=mobile,
                        email=f"synthetic.{number}@example.com", external_id=f"SYN-{number:08d}")
    customer.messages = [
        Message(base, "sms", "DELIVERED", anchor - timedelta(days=3, minutes=number % 600), mobile, "",
                118_301, user_id),
        Message(base + 1, "sms", recent_status, anchor - timedelta(minutes=5 + number % 1200), mobile, "",
                118_302, user_id),
        Message(base + 2, "email", "OPENED", anchor - timedelta(days=2, minutes=number % 600),
                customer.email or "", "Your points statement", 118_303, user_id),
    ]
    return customer


class MessageStore:
    def __init__(self, org_id: int, *, anchor: datetime, synthetic: bool = True) -> None:
        self.org_id = org_id
        self.anchor = anchor  # "now" when the store was seeded; synthetic send times hang off it
        self.synthetic = synthetic
        self.customers: dict[tuple[str, str], Customer] = {}
        self.messages: dict[int, Message] = {}
        self.first_resend: dict[int, int] = {}  # fixed first answers (the seed page's pair)
        self.resends: dict[int, list[int]] = {}
        self.next_message_id = 1_746_061_700_000
        self.next_resent_id = 1_748_743_190_200

    # Customers --------------------------------------------------------------------------------------------

    def add_customer(self, customer: Customer) -> Customer:
        for key in customer.identifiers():
            self.customers[key] = customer
        for message in customer.messages:
            self.messages[message.id] = message
        return customer

    def find_customer(self, identifier_name: str, value: str) -> Customer | None:
        key = (identifier_name, normalise(identifier_name, value))
        found = self.customers.get(key)
        if found is None and self.synthetic and identifier_name == "mobile":
            match = SYNTHETIC_MOBILE.match(key[1])
            if match:
                found = synthetic_customer(int(match.group(1)), self.anchor)
        return found

    def _materialise(self, identifier_name: str, value: str, name: str | None) -> Customer:
        """A customer the store owns (synthetic ones are copied in so new messages stick)."""
        key = (identifier_name, normalise(identifier_name, value))
        if key in self.customers:
            return self.customers[key]
        found = self.find_customer(identifier_name, value)
        if found is None:
            found = Customer(name=name or f"Customer {value}", user_id=400_000_000 + len(self.customers))
            setattr(found, identifier_name, value)
        return self.add_customer(found)

    def add_interaction(self, identifier_name: str, value: str, *, status: str, channel: str, sent_at: datetime,
                        subject: str = "", campaign_id: int = 118_399, name: str | None = None,
                        warnings: list[dict[str, Any]] | None = None) -> int:
        if identifier_name not in IDENTIFIER_NAMES:
            raise ValueError(f"identifier_name must be one of {', '.join(IDENTIFIER_NAMES)}")
        customer = self._materialise(identifier_name, value, name)
        message = Message(self.next_message_id, channel, status, sent_at, customer.receiver(channel), subject,
                          campaign_id, customer.user_id, list(warnings or []))
        self.next_message_id += 1
        customer.messages.append(message)
        self.messages[message.id] = message
        return message.id

    # Messages and resends ---------------------------------------------------------------------------------

    def find_message(self, message_id: int) -> Message | None:
        found = self.messages.get(message_id)
        if found is None and self.synthetic and message_id >= SYNTHETIC_BASE_ID:
            number, index = divmod(message_id - SYNTHETIC_BASE_ID, SYNTHETIC_PER_CUSTOMER)
            if number < 10**8 and index < 3:
                found = synthetic_customer(number, self.anchor).messages[index]
        return found

    def resend(self, message_id: int) -> tuple[int, list[dict[str, Any]]] | None:
        """The new message id and the warnings to pass on, or None when the id is unknown."""
        message = self.find_message(message_id)
        if message is None:
            return None
        earlier = self.resends.setdefault(message_id, [])
        if not earlier and message_id in self.first_resend:
            resent = self.first_resend[message_id]
        else:
            resent = self.next_resent_id
            self.next_resent_id += 1
        earlier.append(resent)
        return resent, [dict(warning) for warning in message.resend_warnings]
