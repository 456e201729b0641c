"""Undelivered-message alerts, the domain part: which messages count, and what one digest holds.

The job (bot/alerts/job.py) polls, the outbox (bot/alerts/outbox.py) remembers, and handlers/alerts/blocks.py turns
a :class:`Digest` into Slack messages.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from bot.vendors.capillary.models import ChannelMessage, CustomerInteractions

SHOWN = 20  # items with their own Resend button in the digest; the rest go into the thread
SENT_DATE_FORMAT = "%d-%m-%Y %H:%M:%S"
FUTURE_SLACK = timedelta(minutes=10)  # clocks disagree a little; a message "from the future" is still recent

log = logging.getLogger("commops.alerts")


def normalise_status(status: str) -> str:
    """One spelling for every source: the API says NOT-DELIVERED, the data export Not_delivered."""
    return status.strip().upper().replace("_", "-")


def undelivered_statuses(statuses: Iterable[str]) -> dict[str, str]:
    """Each ALERT_STATUSES entry by its normalised form, so an alert shows the spelling the settings use."""
    return {normalise_status(status): status.strip().upper() for status in statuses}


def parse_sent_date(text: str, zone: tzinfo) -> datetime | None:
    """``DD-MM-YYYY HH:mm:ss`` in the cluster's zone (the API gives no offset), as an aware datetime.

    Fractions of a second and ISO 8601 are accepted too, so a small drift in the vendor's format does not
    make undelivered messages disappear; an offset, when one comes, wins over the zone.
    """
    cleaned = text.strip()
    for pattern in (SENT_DATE_FORMAT, SENT_DATE_FORMAT + ".%f"):
        try:
            return datetime.strptime(cleaned, pattern).replace(tzinfo=zone)
        except ValueError:
            continue
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def mask(receiver: str) -> str:
    """Only the last four characters are shown; a fixed-width mask so the length says nothing either."""
    return "••••" + receiver[-4:] if len(receiver) > 4 else "••••"


@dataclass(frozen=True)
class Candidate:
    """An undelivered message, from the watch-list poll or an import, on its way into the outbox."""

    message_id: int
    channel: str
    receiver: str
    status: str
    sent_at: datetime
    source: str  # watchlist | import
    customer: str | None = None


def undelivered(found: CustomerInteractions, customer: str, *, statuses: dict[str, str], zone: tzinfo,
                now: datetime, lookback: timedelta) -> list[Candidate]:
    """The customer's messages whose status counts as undelivered and that were sent within ``lookback``."""
    messages = [ChannelMessage(channel.name, message) for channel in found.interaction
                for message in channel.message_list]
    return undelivered_messages(messages, customer, statuses=statuses, zone=zone, now=now, lookback=lookback)


def undelivered_messages(messages: Iterable[ChannelMessage], customer: str, *, statuses: dict[str, str],
                         zone: tzinfo, now: datetime, lookback: timedelta) -> list[Candidate]:
    """As :func:`undelivered`, from messages each with its channel's name (what the watch-list poll reads)."""
    since = now - lookback
    result: list[Candidate] = []
    for found in messages:
        message = found.message
        status = statuses.get(normalise_status(message.status))
        if status is None or message.sent_date is None:
            continue
        sent_at = parse_sent_date(message.sent_date, zone)
        if sent_at is None:
            log.warning("message %s of %s is %s but its sentDate %r is unreadable: not alerted", message.id,
                        customer, status, message.sent_date[:40])
            continue
        if not since <= sent_at <= now + FUTURE_SLACK:
            continue
        result.append(Candidate(message.id, found.channel.lower(), message.receiver or "", status, sent_at,
                                "watchlist", customer))
    return result


@dataclass(frozen=True)
class DigestItem:
    message_id: int
    channel: str
    receiver: str
    status: str
    sent_at: datetime
    resent_by: str | None = None
    resent_at: datetime | None = None
    resent_id: int | None = None
    resend_error: str | None = None


@dataclass(frozen=True)
class PostedItem:
    """An alerted item and where its line was posted: the digest itself, or one of its thread replies."""

    item: DigestItem
    slack_channel: str | None
    slack_ts: str | None
    in_thread: bool


@dataclass(frozen=True)
class Digest:
    """What one run posts: every pending item (newest first), customers newly found missing, and how many
    customers could not be checked this time."""

    digest_id: str
    items: tuple[DigestItem, ...]
    missing_customers: tuple[str, ...] = ()
    unchecked: int = 0
    shown_count: int = SHOWN

    @property
    def shown(self) -> tuple[DigestItem, ...]:
        return self.items[: self.shown_count]

    @property
    def rest(self) -> tuple[DigestItem, ...]:
        return self.items[self.shown_count:]

    @property
    def empty(self) -> bool:
        return not self.items and not self.missing_customers


def newest_first(items: Sequence[DigestItem]) -> tuple[DigestItem, ...]:
    return tuple(sorted(items, key=lambda item: (item.sent_at, item.message_id), reverse=True))


DIGEST_ID = re.compile(r"[0-9a-f]{32}")  # a digest's id (uuid4().hex), as its Resend-all button carries it
