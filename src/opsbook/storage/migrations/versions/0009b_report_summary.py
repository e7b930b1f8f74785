"""report summary rows (alert names and escalation level per incident) and the indexes of the
scale-sensitive pages; existing history is summarised once here

Revision ID: 0009b
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009b"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_alertnames",
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("alertname", sa.String(length=300), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "alertname", name=op.f("pk_incident_alertnames")),
    )
    op.create_table(
        "incident_levels",
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_incident_levels")),
    )
    op.create_index(
        "ix_alerts_incident_received", "alerts", ["incident_id", "first_received_at", "id"]
    )
    op.create_index("ix_timeline_incident_at", "timeline_entries", ["incident_id", "at", "id"])
    op.create_index(
        "ix_incidents_tenant_severity", "incidents", ["tenant", "severity", "created_at", "id"]
    )
    op.create_index(
        "ix_incidents_tenant_service",
        "incidents",
        ["tenant", "service", "severity", "created_at", "id"],
    )
    op.create_index("ix_incidents_tenant_resolved", "incidents", ["tenant", "resolved_at"])
    op.create_index(
        "ix_incidents_open_gauge", "incidents", ["open_key", "tenant", "service", "severity"]
    )
    # what history already holds, once
    op.execute(
        "INSERT INTO incident_alertnames (incident_id, alertname, tenant) "
        "SELECT DISTINCT incident_id, alertname, tenant FROM alerts"
    )
    if op.get_bind().dialect.name == "postgresql":
        level = "(data->>'level')::int"
        has_level = "jsonb_typeof(data->'level') = 'number'"
    else:
        level = "CAST(json_extract(data, '$.level') AS INTEGER)"
        has_level = "json_type(data, '$.level') = 'integer'"
    sql = (
        "INSERT INTO incident_levels (incident_id, tenant, level) "  # noqa: S608 - constants only
        f"SELECT incident_id, MIN(tenant), MAX({level}) FROM timeline_entries "
        f"WHERE kind = 'escalation' AND {has_level} GROUP BY incident_id"
    )
    op.execute(sql)


def downgrade() -> None:
    op.drop_index("ix_incidents_open_gauge", table_name="incidents")
    op.drop_index("ix_incidents_tenant_resolved", table_name="incidents")
    op.drop_index("ix_incidents_tenant_service", table_name="incidents")
    op.drop_index("ix_incidents_tenant_severity", table_name="incidents")
    op.drop_index("ix_timeline_incident_at", table_name="timeline_entries")
    op.drop_index("ix_alerts_incident_received", table_name="alerts")
    op.drop_table("incident_levels")
    op.drop_table("incident_alertnames")
