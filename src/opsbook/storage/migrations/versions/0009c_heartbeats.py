"""heartbeat states: the last ping of each dead man's switch, and whether it is late

Revision ID: 0009c
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opsbook.storage.tables

revision = "0009c"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    when = opsbook.storage.tables.UTCDateTime(timezone=True)
    op.create_table(
        "heartbeat_states",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("service", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("since", when, nullable=False),
        sa.Column("last_ping_at", when, nullable=True),
        sa.Column("last_ping_via", sa.String(length=32), nullable=True),
        sa.Column("pings", sa.Integer(), nullable=False),
        sa.Column("late_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "name", name=op.f("pk_heartbeat_states")),
    )


def downgrade() -> None:
    op.drop_table("heartbeat_states")
