"""The baseline: the store as commops made it before migrations (resend claims, audit log, alert outbox, missing
customers, leases), and the audit log's append-only triggers.

Revision ID: 0001
Revises: (none)

On an empty database it creates every table, index and trigger. A database made before migrations (its tables
made by create_all at start, no alembic_version) comes through here too, since Alembic sees it at no revision: each
step looks first and adds only what is missing (a table, a column added in a later version such as
alert_outbox.claimed_by, an index, a trigger) and leaves the rest, rows included, as it is. Alembic then stamps it.

This file is a snapshot: it names every column itself instead of reading bot/store/tables.py, which will go on
changing (in later migrations).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

HOLDER = 64
APPEND_ONLY = "the audit log is append-only"


def _tables() -> dict[str, list[sa.Column[Any]]]:
    """Every table's columns, new objects each call (a Column belongs to one table)."""
    when = sa.DateTime
    return {
        "resend_claims": [
            sa.Column("message_id", sa.BigInteger(), primary_key=True, autoincrement=False),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("user_id", sa.String(32), nullable=False),
            sa.Column("user_name", sa.String(128), nullable=False),
            sa.Column("claimed_at", when(), nullable=False),
            sa.Column("org_id", sa.BigInteger(), nullable=True),
            sa.Column("resent_id", sa.BigInteger(), nullable=True),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("detail", sa.Text(), nullable=True),
        ],
        "audit_log": [
            # INTEGER on SQLite: the rowid, numbered by the database; BIGSERIAL on PostgreSQL.
            sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                      autoincrement=True),
            sa.Column("at", when(), nullable=False),
            sa.Column("user_id", sa.String(32), nullable=False),
            sa.Column("user_name", sa.String(128), nullable=False),
            sa.Column("team_id", sa.String(32), nullable=True),
            sa.Column("channel_id", sa.String(32), nullable=True),
            sa.Column("action", sa.String(64), nullable=False),
            sa.Column("arguments", sa.Text(), nullable=False),
            sa.Column("outcome", sa.String(16), nullable=False),
            sa.Column("error_code", sa.String(64), nullable=True),
            sa.Column("error", sa.Text(), nullable=True),
            sa.Column("org_id", sa.BigInteger(), nullable=True),
            sa.Column("communication_id", sa.String(64), nullable=True),
            sa.Column("resent_id", sa.String(64), nullable=True),
            sa.Column("campaign_id", sa.String(64), nullable=True),
            sa.Column("request_id", sa.String(128), nullable=True),
            sa.Column("latency_ms", sa.Integer(), nullable=True),
            sa.Column("attempt_id", sa.String(32), nullable=True),
        ],
        "alert_outbox": [
            sa.Column("message_id", sa.BigInteger(), primary_key=True, autoincrement=False),
            sa.Column("channel", sa.String(32), nullable=False),
            sa.Column("receiver", sa.String(320), nullable=False),
            sa.Column("status", sa.String(32), nullable=False),
            sa.Column("sent_at", when(), nullable=False),
            sa.Column("source", sa.String(16), nullable=False),
            sa.Column("customer", sa.String(330), nullable=True),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("found_at", when(), nullable=False),
            sa.Column("digest_id", sa.String(32), nullable=True),
            sa.Column("slack_channel", sa.String(32), nullable=True),
            sa.Column("slack_ts", sa.String(32), nullable=True),
            sa.Column("in_thread", sa.Boolean(), nullable=False),
            sa.Column("posted_at", when(), nullable=True),
            sa.Column("claimed_by", sa.String(HOLDER), nullable=True),  # added after the outbox first shipped
            sa.Column("resent_by", sa.String(32), nullable=True),
            sa.Column("resent_at", when(), nullable=True),
            sa.Column("resent_id", sa.BigInteger(), nullable=True),
            sa.Column("resend_error", sa.Text(), nullable=True),
        ],
        "alert_missing_customers": [
            sa.Column("customer", sa.String(330), primary_key=True),
            sa.Column("missing_since", when(), nullable=False),
            sa.Column("reported_at", when(), nullable=True),
        ],
        "leases": [
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("holder", sa.String(HOLDER), nullable=False),
            sa.Column("acquired_at", when(), nullable=False),
            sa.Column("expires_at", when(), nullable=False),
        ],
    }


INDEXES = {  # name: (table, column)
    "ix_audit_log_at": ("audit_log", "at"),
    "ix_audit_log_user_id": ("audit_log", "user_id"),
    "ix_audit_log_action": ("audit_log", "action"),
    "ix_alert_outbox_state": ("alert_outbox", "state"),
    "ix_alert_outbox_digest_id": ("alert_outbox", "digest_id"),
}

# The audit log only ever grows: the database refuses UPDATE and DELETE. One statement each (asyncpg prepares every
# statement, and a prepared statement holds one).
TRIGGERS = {
    "sqlite": {
        f"audit_log_no_{verb.lower()}": f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                                        f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
        for verb in ("UPDATE", "DELETE")
    },
    "postgresql": {
        "audit_log_append_only": "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                                 "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    },
}
POSTGRES_FUNCTION = ("CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                     f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$")


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    if dialect not in TRIGGERS:
        raise RuntimeError(f"the store runs on SQLite or PostgreSQL, not {dialect}")
    for table, columns in _tables().items():
        _ensure_table(bind, table, columns)
    for name, (table, column) in INDEXES.items():
        if name not in {index["name"] for index in sa.inspect(bind).get_indexes(table)}:
            op.create_index(name, table, [column])
    if dialect == "postgresql":
        op.execute(POSTGRES_FUNCTION)
    for name, statement in TRIGGERS[dialect].items():
        if not _has_trigger(bind, name):
            op.execute(statement)


def _ensure_table(bind: sa.Connection, table: str, columns: list[sa.Column[Any]]) -> None:
    inspector = sa.inspect(bind)
    if not inspector.has_table(table):
        op.create_table(table, *columns)
        return
    present = {column["name"] for column in inspector.get_columns(table)}
    for column in columns:
        if column.name in present:
            continue
        if not column.nullable:
            raise RuntimeError(f"{table} has no column {column.name}, which must hold a value in every row: "
                               "this table was not made by commops; compare it with bot/store/tables.py")
        op.add_column(table, column)


def _has_trigger(bind: sa.Connection, name: str) -> bool:
    if bind.dialect.name == "sqlite":
        query = "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log' AND name = :name"
    else:
        query = ("SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass('audit_log') AND tgname = :name "
                 "AND NOT tgisinternal")
    return bind.execute(sa.text(query), {"name": name}).first() is not None


def downgrade() -> None:
    raise NotImplementedError("the baseline is not undone: it would drop the audit log")
