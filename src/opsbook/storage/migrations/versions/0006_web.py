"""web UI: local users with password hashes and server-side sessions (merges 0005a, 0005b, 0005c)

Revision ID: 0006
Revises: 0005a, 0005b, 0005c
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opsbook.storage.tables

revision = "0006"
down_revision = ("0005a", "0005b", "0005c")
branch_labels = None
depends_on = None


def upgrade() -> None:
    when = opsbook.storage.tables.UTCDateTime(timezone=True)
    op.create_table(
        "web_users",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("updated_at", when, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "name", name=op.f("pk_web_users")),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.String(length=128), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("expires_at", when, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
    )
    op.create_index("ix_web_sessions_user", "web_sessions", ["tenant", "user_name"], unique=False)
    op.create_index("ix_web_sessions_expires", "web_sessions", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_web_sessions_expires", table_name="web_sessions")
    op.drop_index("ix_web_sessions_user", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("web_users")
