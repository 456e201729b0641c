"""Scheduled pauses and resumes of Comm campaigns (bot/schedule/), claimed once across replicas.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduled_actions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("campaign_name", sa.String(255), nullable=False),
        sa.Column("op", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("basis_state", sa.String(8), nullable=False),
        sa.Column("basis_at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("user_name", sa.String(128), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=True),
        sa.Column("channel_id", sa.String(32), nullable=True),
        sa.Column("zone", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("request_key", sa.String(64), nullable=True),
        sa.Column("holder", sa.String(64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("result", sa.String(32), nullable=True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("reported_at", sa.DateTime(), nullable=True),
        sa.Column("cancelled_by", sa.String(32), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_scheduled_actions_state_due_at", "scheduled_actions", ["state", "due_at"])
    op.create_index("ix_scheduled_actions_campaign_id", "scheduled_actions", ["campaign_id"])
    op.create_index("ix_scheduled_actions_request_key", "scheduled_actions", ["request_key"], unique=True)


def downgrade() -> None:
    raise NotImplementedError("commops migrations go forward only: restore a backup to go back")
