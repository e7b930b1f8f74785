"""severity first: job priority and lane, delivery priority and digests

Jobs get ``priority`` (0 = P0 … 3 = P3), ``lane`` (page | work) and ``incident_id``; claiming
reads ``ix_jobs_claim`` (status, lane, priority, run_after, id), which replaces ``ix_jobs_ready``.
Deliveries get ``priority`` and ``digest_id`` and an index on the contact they go to. Existing
rows take their incident's severity (queued jobs find their incident in ``payload.incident_id``).

Revision ID: 0007b
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007b"
down_revision = "0006"
branch_labels = None
depends_on = None

# a delivery takes the severity of its incident as its priority (SQL both backends accept)
_DELIVERY_PRIORITY = (
    "UPDATE deliveries SET priority = (SELECT CAST(substr(incidents.severity, 2, 1) AS INTEGER)"
    " FROM incidents WHERE incidents.id = deliveries.incident_id)"
    " WHERE incident_id IS NOT NULL"
)
# queued jobs of an incident (payload.incident_id) take its id and severity
_JOB_INCIDENT = {
    "postgresql": "UPDATE jobs SET incident_id = payload->>'incident_id'"
    " WHERE status = 'queued' AND payload->>'incident_id' IS NOT NULL",
    "sqlite": "UPDATE jobs SET incident_id = json_extract(payload, '$.incident_id')"
    " WHERE status = 'queued' AND json_extract(payload, '$.incident_id') IS NOT NULL",
}
_JOB_PRIORITY = (
    "UPDATE jobs SET priority = (SELECT CAST(substr(incidents.severity, 2, 1) AS INTEGER)"
    " FROM incidents WHERE incidents.id = jobs.incident_id)"
    " WHERE incident_id IS NOT NULL"
    " AND EXISTS (SELECT 1 FROM incidents WHERE incidents.id = jobs.incident_id)"
)


def upgrade() -> None:
    op.add_column("jobs", sa.Column("priority", sa.Integer(), nullable=False, server_default="1"))
    op.add_column(
        "jobs", sa.Column("lane", sa.String(length=8), nullable=False, server_default="work")
    )
    op.add_column("jobs", sa.Column("incident_id", sa.String(length=40), nullable=True))
    op.execute("UPDATE jobs SET lane = 'page' WHERE kind IN ('escalate', 'deliver')")
    backfill = _JOB_INCIDENT.get(op.get_bind().dialect.name)
    if backfill is not None:
        op.execute(backfill)
        op.execute(_JOB_PRIORITY)
    op.drop_index("ix_jobs_ready", table_name="jobs")
    op.create_index(
        "ix_jobs_claim", "jobs", ["status", "lane", "priority", "run_after", "id"], unique=False
    )
    op.create_index("ix_jobs_incident", "jobs", ["incident_id", "status"], unique=False)

    op.add_column(
        "deliveries", sa.Column("priority", sa.Integer(), nullable=False, server_default="1")
    )
    op.add_column("deliveries", sa.Column("digest_id", sa.String(length=64), nullable=True))
    op.execute(_DELIVERY_PRIORITY)
    op.create_index(
        "ix_deliveries_contact",
        "deliveries",
        ["tenant", "user_name", "contact_index", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_contact", table_name="deliveries")
    with op.batch_alter_table("deliveries") as t:
        t.drop_column("digest_id")
        t.drop_column("priority")
    op.drop_index("ix_jobs_incident", table_name="jobs")
    op.drop_index("ix_jobs_claim", table_name="jobs")
    op.create_index("ix_jobs_ready", "jobs", ["status", "run_after"], unique=False)
    with op.batch_alter_table("jobs") as t:
        t.drop_column("incident_id")
        t.drop_column("lane")
        t.drop_column("priority")
