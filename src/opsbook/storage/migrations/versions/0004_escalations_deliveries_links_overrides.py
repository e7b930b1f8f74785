"""escalations deliveries links overrides

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 05:22:11.298582
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import opsbook.storage.tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedule_overrides",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("schedule", sa.String(length=128), nullable=False),
        sa.Column("user_name", sa.String(length=128), nullable=False),
        sa.Column("replaces", sa.String(length=128), nullable=True),
        sa.Column("starts_at", opsbook.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", opsbook.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=160), nullable=False),
        sa.Column("created_at", opsbook.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_overrides")),
    )
    with op.batch_alter_table("schedule_overrides", schema=None) as batch_op:
        batch_op.create_index("ix_overrides_schedule", ["tenant", "schedule"], unique=False)

    op.create_table(
        "used_links",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("used_at", opsbook.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_used_links")),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=True),
        sa.Column("user_name", sa.String(length=128), nullable=False),
        sa.Column("contact_index", sa.Integer(), nullable=False),
        sa.Column("contact_display", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", opsbook.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "next_attempt_at", opsbook.storage.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("sent_at", opsbook.storage.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_deliveries_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_incident", ["tenant", "incident_id"], unique=False)

    op.create_table(
        "escalations",
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("policy", sa.String(length=128), nullable=False),
        sa.Column(
            "snapshot",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column("started_at", opsbook.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", opsbook.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_escalations_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_escalations")),
    )
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalations_tenant"), ["tenant"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalations_tenant"))

    op.drop_table("escalations")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_incident")

    op.drop_table("deliveries")
    op.drop_table("used_links")
    with op.batch_alter_table("schedule_overrides", schema=None) as batch_op:
        batch_op.drop_index("ix_overrides_schedule")

    op.drop_table("schedule_overrides")
