"""The store's tables, as the ORM sees them.

The database's schema is made by the migrations (bot/store/migrations/), never from these classes at run time: a
change here needs a migration too (tests/bot/store/test_migrations.py fails until the two agree).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.base import Base, UTCDateTime

HOLDER = 64  # the width of a lease holder's id (bot/leases.py)


class ResendClaim(Base):
    """The latest resend of each message id: the duplicate guard (one row per message, claimed atomically)."""

    __tablename__ = "resend_claims"

    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(16))  # pending | resent | failed | uncertain
    user_id: Mapped[str] = mapped_column(String(32))
    user_name: Mapped[str] = mapped_column(String(128))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # indexed for pruning (bot/retention/)
    org_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    resent_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)


class AuditRecord(Base):
    """One attempt at an action, allowed or denied (see bot/audit/log.py). The bot only ever inserts rows; the
    database's triggers (made by the baseline migration) refuse updates and deletes too."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    user_id: Mapped[str] = mapped_column(String(32), index=True)
    user_name: Mapped[str] = mapped_column(String(128))
    team_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    channel_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    arguments: Mapped[str] = mapped_column(Text)  # a JSON object, secrets redacted
    outcome: Mapped[str] = mapped_column(String(16))  # ok | denied | invalid | duplicate | vendor_error | error
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    org_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    communication_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    resent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    campaign_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    attempt_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class AlertItem(Base):
    """The alert outbox (bot/alerts/outbox.py): one row per undelivered message, written ``pending`` before the digest
    is posted and marked ``posted`` with the Slack ts after Slack accepted it, so nothing is lost or repeated."""

    __tablename__ = "alert_outbox"

    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    channel: Mapped[str] = mapped_column(String(32))  # sms | email | push …
    receiver: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(32))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(16))  # watchlist | import
    customer: Mapped[str | None] = mapped_column(String(330), nullable=True)  # e.g. mobile:919845000001
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | posted
    found_at: Mapped[datetime] = mapped_column(UTCDateTime())
    digest_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    slack_channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    slack_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the post that shows the item
    in_thread: Mapped[bool] = mapped_column(default=False)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)  # for pruning
    claimed_by: Mapped[str | None] = mapped_column(String(HOLDER), nullable=True)  # the run that will post it
    resent_by: Mapped[str | None] = mapped_column(String(32), nullable=True)  # Slack user id
    resent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resent_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    resend_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class AlertMissingCustomer(Base):
    """A watched customer Capillary does not know (1012): reported in one digest, then only remembered."""

    __tablename__ = "alert_missing_customers"

    customer: Mapped[str] = mapped_column(String(330), primary_key=True)
    missing_since: Mapped[datetime] = mapped_column(UTCDateTime())
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class LeaseRow(Base):
    """A named lease (bot/leases.py): who may do a job's work until when, shared by every replica of the store."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(HOLDER))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SeenRequest(Base):
    """A signed Slack request already received (bot/access/replays.py): the fingerprint of its signature and
    timestamp, when it was first seen and the attempt id it got, so that every replica refuses it a second time."""

    __tablename__ = "seen_requests"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of v0:timestamp:signature
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    attempt_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class ScheduledActionRow(Base):
    """A pause or resume to do later (bot/schedule/): written ``pending`` when scheduled; ``running`` once one
    replica claimed it (one UPDATE … WHERE state = 'pending', so only one ever does); ``done`` with its ``result``
    and ``report`` (what the channel is told), or ``cancelled``. ``reported_at`` is set once the channel was told."""

    __tablename__ = "scheduled_actions"
    __table_args__ = (
        Index("ix_scheduled_actions_state_due_at", "state", "due_at"),
        Index("ix_scheduled_actions_campaign_id", "campaign_id"),
        Index("ix_scheduled_actions_request_key", "request_key", unique=True),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex; also the run's audit attempt id
    campaign_id: Mapped[str] = mapped_column(String(64))
    campaign_name: Mapped[str] = mapped_column(String(255))  # as it was when scheduled, for lists and posts
    op: Mapped[str] = mapped_column(String(16))  # pause | resume
    origin: Mapped[str] = mapped_column(String(16))  # at (pause|resume … at) | after_pause (pause … for|until)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16))  # pending | running | done | cancelled
    basis_state: Mapped[str] = mapped_column(String(8))  # the flags it expects at run time: 1 on, 0 off
    basis_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when they were read
    user_id: Mapped[str] = mapped_column(String(32))  # who scheduled it: their grant is checked at run time
    user_name: Mapped[str] = mapped_column(String(128))
    team_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    channel_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # where its outcome is posted
    zone: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the time zone its time was read in
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    request_key: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the click that made it
    holder: Mapped[str | None] = mapped_column(String(HOLDER), nullable=True)  # the runner that claimed it
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    result: Mapped[str | None] = mapped_column(String(32), nullable=True)  # changed | stale | denied | failed …
    report: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON: what the run found and did
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancelled_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RateSlice(Base):
    """A slice of a vendor rate limit's grid of send times (bot/vendors/rate_limit.py, bot/store/rate_slices.py): how
    many of its points the replicas sharing the store have taken, so that no point is used twice."""

    __tablename__ = "rate_slices"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)  # the limiter, e.g. capillary
    slice: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    used: Mapped[int] = mapped_column(Integer)  # points taken so far, from the slice's first
    taken: Mapped[int] = mapped_column(Integer)  # how many the latest statement took (read back with RETURNING)
