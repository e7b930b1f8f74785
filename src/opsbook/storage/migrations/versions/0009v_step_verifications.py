"""runbook step verifications (history of `runbooks verify`)

Revision ID: 0009v
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.storage.tables import UTCDateTime

revision = "0009v"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "step_verifications",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=128), nullable=False),
        sa.Column("runbook", sa.String(length=512), nullable=False),
        sa.Column("section", sa.String(length=256), nullable=False),
        sa.Column("step_key", sa.String(length=64), nullable=False),
        sa.Column("step_line", sa.Integer(), nullable=False),
        sa.Column("step_title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("verified_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("verified_by", sa.String(length=160), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_step_verifications_key",
        "step_verifications",
        ["tenant", "service", "step_key", "verified_at"],
    )
    op.create_index("ix_step_verifications_at", "step_verifications", ["verified_at"])


def downgrade() -> None:
    op.drop_index("ix_step_verifications_at", table_name="step_verifications")
    op.drop_index("ix_step_verifications_key", table_name="step_verifications")
    op.drop_table("step_verifications")
