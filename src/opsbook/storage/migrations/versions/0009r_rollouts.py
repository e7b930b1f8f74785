"""canary rollouts

Revision ID: 0009r
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from opsbook.storage.tables import UTCDateTime

revision = "0009r"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    op.create_table(
        "rollouts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("active_key", sa.String(length=140), nullable=True),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("target_weight", sa.Integer(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("passed", json, nullable=False),
        sa.Column("step_started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.String(length=160), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("lease_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease_token", sa.String(length=40), nullable=True),
        sa.Column("events", json, nullable=False),
        sa.Column("evaluations", json, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ux_rollouts_active", "rollouts", ["active_key"], unique=True)
    op.create_index("ix_rollouts_tenant_started", "rollouts", ["tenant", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_rollouts_tenant_started", table_name="rollouts")
    op.drop_index("ux_rollouts_active", table_name="rollouts")
    op.drop_table("rollouts")
