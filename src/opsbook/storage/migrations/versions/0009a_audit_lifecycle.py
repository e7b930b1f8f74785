"""data lifecycle: the hash-chained audit log (append-only; a trigger refuses changes on
PostgreSQL), its head row, pseudonym display names, retention purges and erasures

Revision ID: 0009a
Revises: 0008
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import opsbook.storage.tables

revision = "0009a"
down_revision = "0008"
branch_labels = None
depends_on = None

_REFUSE = """
CREATE OR REPLACE FUNCTION opsbook_audit_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    when = opsbook.storage.tables.UTCDateTime(timezone=True)
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "audit_log",
        sa.Column("seq", big, autoincrement=False, nullable=False),
        sa.Column("at", when, nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("actor", sa.String(length=160), nullable=False),
        sa.Column("subject", sa.String(length=160), nullable=True),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("data", json, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)
    op.create_index("ix_audit_log_tenant_seq", "audit_log", ["tenant", "seq"], unique=False)
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", big, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("pseudonym_key", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.bulk_insert(
        head, [{"id": 1, "seq": 0, "hash": "0" * 64, "pseudonym_key": secrets.token_hex(32)}]
    )
    op.create_table(
        "audit_names",
        sa.Column("ref", sa.String(length=160), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("display", sa.String(length=320), nullable=False),
        sa.PrimaryKeyConstraint("ref", name=op.f("pk_audit_names")),
    )
    op.create_table(
        "retention_purges",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("cutoff", when, nullable=False),
        sa.Column("started_at", when, nullable=False),
        sa.Column("finished_at", when, nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_purges")),
    )
    op.create_index(
        "ix_retention_purges_tenant_kind", "retention_purges", ["tenant", "kind"], unique=False
    )
    op.create_table(
        "erasures",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("pseudonym", sa.String(length=160), nullable=False),
        sa.Column("requested_by", sa.String(length=160), nullable=False),
        sa.Column("at", when, nullable=False),
        sa.Column("changes", json, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasures")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_REFUSE)
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION opsbook_audit_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS opsbook_audit_append_only()")
    op.drop_table("erasures")
    op.drop_index("ix_retention_purges_tenant_kind", table_name="retention_purges")
    op.drop_table("retention_purges")
    op.drop_table("audit_names")
    op.drop_table("audit_head")
    op.drop_index("ix_audit_log_tenant_seq", table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
