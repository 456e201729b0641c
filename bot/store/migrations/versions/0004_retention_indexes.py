"""Indexes for pruning what is past its retention (bot/retention/): posted alerts by when they were posted, resend
claims by when they were made. The seen requests have theirs already (0002).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_alert_outbox_posted_at", "alert_outbox", ["posted_at"])
    op.create_index("ix_resend_claims_claimed_at", "resend_claims", ["claimed_at"])


def downgrade() -> None:
    raise NotImplementedError("commops migrations go forward only: restore a backup to go back")
