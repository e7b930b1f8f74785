"""incidents remember the runbook section matched for their alert

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("runbook_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("runbook_path", sa.Text(), nullable=True))
        batch.add_column(sa.Column("section_id", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("section_heading", sa.Text(), nullable=True))
        batch.add_column(sa.Column("match_rule", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("match_score", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        for col in (
            "match_score",
            "match_rule",
            "section_heading",
            "section_id",
            "runbook_path",
            "runbook_id",
        ):
            batch.drop_column(col)
