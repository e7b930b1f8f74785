"""Tables of the data lifecycle: the hash-chained audit log and its head, the display names of
pseudonymised actors, retention purges and erasures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.tables import Base, JSONType, UTCDateTime


class AuditEntryRow(Base):
    """One security-relevant act. Append-only: the code never updates or deletes a row (on
    PostgreSQL a trigger refuses it); ``hash`` chains it to the entry before."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_tenant_seq", "tenant", "seq"),)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    tenant: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(48))
    actor: Mapped[str] = mapped_column(String(160))  # a pseudonym for people, else "system:…"
    subject: Mapped[str | None] = mapped_column(String(160))  # the person acted on, pseudonymised
    target: Mapped[str | None] = mapped_column(String(200))  # an id: token, run, silence, …
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row every audit write locks first (serialises writers, even several replicas):
    the last entry's number and hash, and the key of the pseudonyms."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(String(64))
    pseudonym_key: Mapped[str] = mapped_column(String(64))


class AuditName(Base):
    """Who a pseudonym stands for, while that person is not erased (erasure deletes the row)."""

    __tablename__ = "audit_names"

    ref: Mapped[str] = mapped_column(String(160), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    display: Mapped[str] = mapped_column(String(320))


class PurgeRow(Base):
    """One retention purge of one kind of data in one tenant: how much, older than when."""

    __tablename__ = "retention_purges"
    __table_args__ = (Index("ix_retention_purges_tenant_kind", "tenant", "kind"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))
    cutoff: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rows: Mapped[int] = mapped_column(Integer)
    batches: Mapped[int] = mapped_column(Integer)


class ErasureRow(Base):
    """An erasure done: the person's pseudonym (never the name) and what changed, table → rows."""

    __tablename__ = "erasures"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    pseudonym: Mapped[str] = mapped_column(String(160))
    requested_by: Mapped[str] = mapped_column(String(160))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
