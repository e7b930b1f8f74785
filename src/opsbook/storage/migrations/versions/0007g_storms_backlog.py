"""storms and backlog: storm incidents, the storm counter per service, backlog indexes

Revision ID: 0007g
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import opsbook.storage.tables

revision = "0007g"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    when = opsbook.storage.tables.UTCDateTime(timezone=True)
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    with op.batch_alter_table("incidents") as t:
        t.add_column(sa.Column("storm", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "storm_states",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=128), nullable=False),
        sa.Column("slot_start", when, nullable=False),
        sa.Column("slots", json, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=True),
        sa.Column("alertnames", sa.Integer(), nullable=False),
        sa.Column("updated_at", when, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "service", name=op.f("pk_storm_states")),
    )
    op.create_index(
        "ix_alerts_incident_alertname", "alerts", ["tenant", "incident_id", "alertname"]
    )
    op.create_index("ix_jobs_backlog", "jobs", ["status", "kind", "run_after"])
    op.create_index("ix_deliveries_backlog", "deliveries", ["status", "tenant", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_backlog", table_name="deliveries")
    op.drop_index("ix_jobs_backlog", table_name="jobs")
    op.drop_index("ix_alerts_incident_alertname", table_name="alerts")
    op.drop_table("storm_states")
    with op.batch_alter_table("incidents") as t:
        t.drop_column("storm")
