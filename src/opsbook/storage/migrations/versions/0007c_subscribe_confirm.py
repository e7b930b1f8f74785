"""status-page subscriptions confirmed by a signed link; request counters for rate limits

Revision ID: 0007c
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.storage.tables import UTCDateTime

revision = "0007c"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("status_subscribers") as t:
        t.add_column(sa.Column("confirmed_at", UTCDateTime(timezone=True), nullable=True))
        t.add_column(sa.Column("confirm_nonce", sa.String(length=32), nullable=True))
    # subscribers from before double opt-in keep their updates (they were accepted then)
    op.execute(
        "UPDATE status_subscribers SET confirmed_at = created_at WHERE unsubscribed_at IS NULL"
    )
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("window_start", UTCDateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_rate_limits_window", "rate_limits", ["window_start"])


def downgrade() -> None:
    op.drop_index("ix_rate_limits_window", table_name="rate_limits")
    op.drop_table("rate_limits")
    with op.batch_alter_table("status_subscribers") as t:
        t.drop_column("confirm_nonce")
        t.drop_column("confirmed_at")
