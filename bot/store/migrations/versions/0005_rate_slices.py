"""The vendor rate limit's send times, shared by every replica on the store (bot/store/rate_slices.py).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_slices",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("slice", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("commops migrations go forward only: restore a backup to go back")
