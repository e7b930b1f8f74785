"""merge the trust-under-load branches: approvals as seen (0007a), severity-first jobs and
digests (0007b), subscription opt-in (0007c), storms and backlog (0007g)

Revision ID: 0008
Revises: 0007a, 0007b, 0007c, 0007g
"""

from __future__ import annotations

revision = "0008"
down_revision = ("0007a", "0007b", "0007c", "0007g")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the branches touch different tables; this joins them into one head."""


def downgrade() -> None:
    """Nothing to undo here; each branch's own downgrade follows."""
