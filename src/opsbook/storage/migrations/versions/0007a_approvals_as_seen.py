"""approvals as seen: a run's review and its hash; approvals carry the hash, self-approval, break glass

Revision ID: 0007a
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007a"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    with op.batch_alter_table("step_runs") as t:
        t.add_column(sa.Column("shown_hash", sa.String(length=64), nullable=True))
        t.add_column(sa.Column("review", json, nullable=True))
    with op.batch_alter_table("approvals") as t:
        t.add_column(sa.Column("shown_hash", sa.String(length=64), nullable=True))
        t.add_column(
            sa.Column("self_approved", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        t.add_column(
            sa.Column("break_glass", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("approvals") as t:
        t.drop_column("break_glass")
        t.drop_column("self_approved")
        t.drop_column("shown_hash")
    with op.batch_alter_table("step_runs") as t:
        t.drop_column("review")
        t.drop_column("shown_hash")
