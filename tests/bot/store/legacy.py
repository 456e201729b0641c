"""A database as commops made it before migrations: the statements its create_all (and the audit log's after-create
triggers) ran at start, copied from that version, on each backend. No alembic_version table.

``without`` leaves pieces out, as a database made by an older version (before alert_outbox.claimed_by) or damaged
by hand would lack them: the names of a table's column (``alert_outbox.claimed_by``), an index or a trigger.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from sqlalchemy import text

from bot.store.engine import Store

_COMMON = [
    "CREATE TABLE resend_claims (message_id BIGINT NOT NULL, state VARCHAR(16) NOT NULL, user_id VARCHAR(32) NOT NULL, "
    "user_name VARCHAR(128) NOT NULL, claimed_at {when} NOT NULL, org_id BIGINT, resent_id BIGINT, "
    "attempts INTEGER NOT NULL, detail TEXT, PRIMARY KEY (message_id))",
    "CREATE TABLE audit_log (id {serial} NOT NULL, at {when} NOT NULL, user_id VARCHAR(32) NOT NULL, "
    "user_name VARCHAR(128) NOT NULL, team_id VARCHAR(32), channel_id VARCHAR(32), action VARCHAR(64) NOT NULL, "
    "arguments TEXT NOT NULL, outcome VARCHAR(16) NOT NULL, error_code VARCHAR(64), error TEXT, org_id BIGINT, "
    "communication_id VARCHAR(64), resent_id VARCHAR(64), campaign_id VARCHAR(64), request_id VARCHAR(128), "
    "latency_ms INTEGER, attempt_id VARCHAR(32), PRIMARY KEY (id))",
    "CREATE INDEX ix_audit_log_at ON audit_log (at)",
    "CREATE INDEX ix_audit_log_action ON audit_log (action)",
    "CREATE INDEX ix_audit_log_user_id ON audit_log (user_id)",
    "{triggers}",
    "CREATE TABLE alert_outbox (message_id BIGINT NOT NULL, channel VARCHAR(32) NOT NULL, "
    "receiver VARCHAR(320) NOT NULL, status VARCHAR(32) NOT NULL, sent_at {when} NOT NULL, "
    "source VARCHAR(16) NOT NULL, customer VARCHAR(330), state VARCHAR(16) NOT NULL, found_at {when} NOT NULL, "
    "digest_id VARCHAR(32), slack_channel VARCHAR(32), slack_ts VARCHAR(32), in_thread BOOLEAN NOT NULL, "
    "posted_at {when}, claimed_by VARCHAR(64), resent_by VARCHAR(32), resent_at {when}, resent_id BIGINT, "
    "resend_error TEXT, PRIMARY KEY (message_id))",
    "CREATE INDEX ix_alert_outbox_state ON alert_outbox (state)",
    "CREATE INDEX ix_alert_outbox_digest_id ON alert_outbox (digest_id)",
    "CREATE TABLE alert_missing_customers (customer VARCHAR(330) NOT NULL, missing_since {when} NOT NULL, "
    "reported_at {when}, PRIMARY KEY (customer))",
    "CREATE TABLE leases (name VARCHAR(64) NOT NULL, holder VARCHAR(64) NOT NULL, acquired_at {when} NOT NULL, "
    "expires_at {when} NOT NULL, PRIMARY KEY (name))",
]
_APPEND_ONLY = "the audit log is append-only"
_TRIGGERS = {
    "sqlite": [
        f"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); "
        "END",
        f"CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); "
        "END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE "
        f"EXCEPTION '{_APPEND_ONLY}'; END $$",
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION "
        "audit_log_append_only()",
    ],
}
_TYPES = {"sqlite": {"when": "DATETIME", "serial": "INTEGER"},
          "postgresql": {"when": "TIMESTAMP WITHOUT TIME ZONE", "serial": "BIGSERIAL"}}


def statements(dialect: str, without: Collection[str] = ()) -> list[str]:
    made = []
    for template in _COMMON:
        for statement in _TRIGGERS[dialect] if template == "{triggers}" else [template.format(**_TYPES[dialect])]:
            name = re.match(r"CREATE (?:TRIGGER|INDEX) (\w+)", statement)
            if name is None or name.group(1) not in without:
                made.append(statement)
    for dropped in without:
        table, _, column = dropped.partition(".")
        if column:
            made = [re.sub(rf", {column} [^,]*", "", statement) if statement.startswith(f"CREATE TABLE {table} ")
                    else statement for statement in made]
    return made


async def make_legacy(url: str, without: Collection[str] = ()) -> None:
    """Make the database at ``url`` as commops did before migrations (less ``without``)."""
    store = Store(url)
    try:
        async with store.engine.begin() as connection:
            for statement in statements(store.dialect, without):
                await connection.execute(text(statement))
    finally:
        await store.close()
