"""The store's tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DDL, BigInteger, Connection, Integer, String, Text, event, inspect
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
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    org_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    resent_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)


class AuditRecord(Base):
    """One attempt at an action, allowed or denied (see bot/audit.py). The bot only ever inserts rows; the
    triggers below make the database refuse updates and deletes too."""

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


def _after_create(table: Any, dialect: str, statement: str) -> None:
    ddl = DDL(statement)  # type: ignore[no-untyped-call]  # SQLAlchemy leaves DDL's constructor unannotated
    event.listen(table, "after_create", ddl.execute_if(dialect=dialect))


# One statement per DDL: asyncpg runs each as a prepared statement, which takes one at a time.
_APPEND_ONLY = "the audit log is append-only"
for _verb in ("UPDATE", "DELETE"):
    _after_create(AuditRecord.__table__, "sqlite", f"CREATE TRIGGER audit_log_no_{_verb.lower()} BEFORE {_verb} "
                  f"ON audit_log BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END")
_after_create(AuditRecord.__table__, "postgresql", "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS "
              f"trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END $$")
_after_create(AuditRecord.__table__, "postgresql", "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE "
              "ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")


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
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
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


# Columns added after a table first shipped: create_all makes missing tables only, so a store created by an older
# version gets these added when it starts (Store.start runs create_all, which fires this each time).
_ADDED_COLUMNS = {"alert_outbox": {"claimed_by": f"VARCHAR({HOLDER})"}}


@event.listens_for(Base.metadata, "after_create")
def _add_columns(_metadata: Any, connection: Connection, **_kw: Any) -> None:
    tables = inspect(connection)
    for table, columns in _ADDED_COLUMNS.items():
        if not tables.has_table(table):  # a create_all of only some tables
            continue
        present = {column["name"] for column in tables.get_columns(table)}
        for name, sql_type in columns.items():
            if name not in present:
                guard = " IF NOT EXISTS" if connection.dialect.name == "postgresql" else ""  # replicas starting at once
                connection.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN{guard} {name} {sql_type}")
