"""merge this wave's branches: audit and data lifecycle (0009a), report summaries (0009b),
heartbeats (0009c), the notification inbox (0009g), rollouts (0009r), step verifications (0009v)

Revision ID: 0010
Revises: 0009a, 0009b, 0009c, 0009g, 0009r, 0009v
"""

from __future__ import annotations

revision = "0010"
down_revision = ("0009a", "0009b", "0009c", "0009g", "0009r", "0009v")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the branches touch different tables; this joins them into one head."""


def downgrade() -> None:
    """Nothing to undo here; each branch's own downgrade follows."""
