"""the web UI's notification inbox (inbox:// contacts)

Revision ID: 0009g
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.storage.tables import UTCDateTime

revision = "0009g"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_items",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.String(length=128), nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=True),
        sa.Column("severity", sa.String(length=4), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inbox_items"),
    )
    op.create_index(
        "ix_inbox_items_user", "inbox_items", ["tenant", "user_name", "read_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_inbox_items_user", table_name="inbox_items")
    op.drop_table("inbox_items")
