"""Signed Slack requests already received, so that a replay is refused on every replica sharing the store.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seen_requests",
        sa.Column("fingerprint", sa.String(64), primary_key=True),  # sha256 hex of v0:timestamp:signature
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.Column("attempt_id", sa.String(32), nullable=True),
    )
    op.create_index("ix_seen_requests_seen_at", "seen_requests", ["seen_at"])


def downgrade() -> None:
    raise NotImplementedError("commops migrations go forward only: restore a backup to go back")
