"""drills: the drill_runs table and the incidents' drill marker

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.storage.tables import JSONType, UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drill_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("drill", sa.String(length=128), nullable=False),
        sa.Column("service", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fault", sa.String(length=16), nullable=False),
        sa.Column("started_by", sa.String(length=160), nullable=False),
        sa.Column("scheduled_for", UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("injected_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("reverted_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("incident_id", sa.String(length=40), nullable=True),
        sa.Column("expectations", JSONType, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_drill_runs_tenant_started", "drill_runs", ["tenant", "started_at"])
    op.create_index("ix_drill_runs_tenant_drill", "drill_runs", ["tenant", "drill", "started_at"])
    op.create_index("ix_drill_runs_fault", "drill_runs", ["fault"])
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("drill_run_id", sa.String(length=40), nullable=True))
        batch.create_index("ix_incidents_drill_run_id", ["drill_run_id"])


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_index("ix_incidents_drill_run_id")
        batch.drop_column("drill_run_id")
    op.drop_index("ix_drill_runs_fault", table_name="drill_runs")
    op.drop_index("ix_drill_runs_tenant_drill", table_name="drill_runs")
    op.drop_index("ix_drill_runs_tenant_started", table_name="drill_runs")
    op.drop_table("drill_runs")
