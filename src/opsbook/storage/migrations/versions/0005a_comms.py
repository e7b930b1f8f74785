"""comms: silences, silenced alerts, maintenance windows, component overrides, status updates,
subscribers and their notices

Revision ID: 0005a
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from opsbook.storage.tables import UTCDateTime

revision = "0005a"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column[sa.DateTime]:
    return sa.Column(name, UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "silences",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("matchers", JSON, nullable=False),
        _ts("starts_at"),
        _ts("ends_at"),
        sa.Column("created_by", sa.String(160), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("expired_by", sa.String(160), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_silences"),
    )
    op.create_index("ix_silences_tenant_ends", "silences", ["tenant", "ends_at"])
    op.create_table(
        "silenced_alerts",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(300), nullable=False),
        sa.Column("alertname", sa.String(300), nullable=False),
        sa.Column("service", sa.String(128), nullable=False),
        sa.Column("silenced_by", sa.String(160), nullable=False),
        sa.Column("labels", JSON, nullable=False),
        sa.Column("annotations", JSON, nullable=False),
        _ts("starts_at", nullable=True),
        _ts("first_received_at"),
        _ts("last_received_at"),
        sa.Column("receive_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_silenced_alerts"),
        sa.UniqueConstraint("tenant", "fingerprint", "silenced_by", name="uq_silenced_alerts_key"),
    )
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("services", JSON, nullable=False),
        sa.Column("components", JSON, nullable=False),
        _ts("starts_at"),
        _ts("ends_at"),
        sa.Column("notify_before_s", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(160), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_maintenance_windows"),
    )
    op.create_index("ix_maintenance_tenant_end", "maintenance_windows", ["tenant", "ends_at"])
    op.create_table(
        "component_overrides",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("component", sa.String(200), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        _ts("expires_at", nullable=True),
        sa.Column("set_by", sa.String(160), nullable=False),
        _ts("set_at"),
        sa.PrimaryKeyConstraint("tenant", "component", name="pk_component_overrides"),
    )
    op.create_table(
        "status_updates",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("incident_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("components", JSON, nullable=False),
        sa.Column("impact", sa.String(32), nullable=False),
        sa.Column("author", sa.String(160), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_status_updates_incident_id_incidents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_status_updates"),
    )
    op.create_index("ix_status_updates_incident", "status_updates", ["tenant", "incident_id"])
    op.create_index("ix_status_updates_tenant_created", "status_updates", ["tenant", "created_at"])
    op.create_table(
        "status_subscribers",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        _ts("created_at"),
        _ts("unsubscribed_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_status_subscribers"),
        sa.UniqueConstraint("tenant", "email", name="uq_status_subscribers_email"),
    )
    op.create_table(
        "status_notices",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("subscriber_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source_key", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _ts("queued_at"),
        _ts("sent_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["status_subscribers.id"],
            name="fk_status_notices_subscriber_id_status_subscribers",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_status_notices"),
    )
    op.create_index("ix_status_notices_pending", "status_notices", ["tenant", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_status_notices_pending", "status_notices")
    op.drop_table("status_notices")
    op.drop_table("status_subscribers")
    op.drop_index("ix_status_updates_tenant_created", "status_updates")
    op.drop_index("ix_status_updates_incident", "status_updates")
    op.drop_table("status_updates")
    op.drop_table("component_overrides")
    op.drop_index("ix_maintenance_tenant_end", "maintenance_windows")
    op.drop_table("maintenance_windows")
    op.drop_table("silenced_alerts")
    op.drop_index("ix_silences_tenant_ends", "silences")
    op.drop_table("silences")
