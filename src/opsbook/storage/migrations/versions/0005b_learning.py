"""postmortems and action items

Revision ID: 0005b
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import opsbook.storage.tables

revision = "0005b"
down_revision = "0004"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _utc() -> opsbook.storage.tables.UTCDateTime:
    return opsbook.storage.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "postmortems",
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("due_at", _utc(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=False),
        sa.Column("contributing_factors", _JSON, nullable=False),
        sa.Column("lessons", sa.Text(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("updated_by", sa.String(length=160), nullable=True),
        sa.Column("last_reminded_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_postmortems_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_postmortems")),
    )
    op.create_index("ix_postmortems_tenant_status", "postmortems", ["tenant", "status"])
    op.create_table(
        "action_items",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_by", sa.String(length=160), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("done_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["postmortems.incident_id"],
            name=op.f("fk_action_items_incident_id_postmortems"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_items")),
    )
    op.create_index("ix_action_items_tenant_status", "action_items", ["tenant", "status"])
    op.create_index("ix_action_items_incident", "action_items", ["tenant", "incident_id"])


def downgrade() -> None:
    op.drop_index("ix_action_items_incident", table_name="action_items")
    op.drop_index("ix_action_items_tenant_status", table_name="action_items")
    op.drop_table("action_items")
    op.drop_index("ix_postmortems_tenant_status", table_name="postmortems")
    op.drop_table("postmortems")
