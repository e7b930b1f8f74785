"""check states: health checks and SLOs, their state, history and schedule lease

Revision ID: 0005c
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import opsbook.storage.tables

revision = "0005c"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    when = opsbook.storage.tables.UTCDateTime(timezone=True)
    op.create_table(
        "check_states",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("since", when, nullable=True),
        sa.Column("failing_since", when, nullable=True),
        sa.Column("successes", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("next_run_at", when, nullable=False),
        sa.Column("lease_until", when, nullable=True),
        sa.Column("lease_token", sa.String(length=40), nullable=True),
        sa.Column("last_run_at", when, nullable=True),
        sa.Column("last_result", json, nullable=True),
        sa.Column("history", json, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "service", "kind", "name", name=op.f("pk_check_states")),
    )
    op.create_index("ix_check_states_due", "check_states", ["next_run_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_check_states_due", table_name="check_states")
    op.drop_table("check_states")
