"""The ``step_verifications`` table: each run of a read-only runbook step by ``runbooks verify``
(by hand or on schedule), so a step that stopped working is found before an incident needs it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.tables import Base, UTCDateTime


class StepVerification(Base):
    """One verification of one step. ``step_key`` identifies the step across edits of the rest of
    the runbook (runbook id, section id and a hash of the step's text); history is per key."""

    __tablename__ = "step_verifications"
    __table_args__ = (
        Index("ix_step_verifications_key", "tenant", "service", "step_key", "verified_at"),
        Index("ix_step_verifications_at", "verified_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    service: Mapped[str] = mapped_column(String(128))
    runbook: Mapped[str] = mapped_column(String(512))
    section: Mapped[str] = mapped_column(String(256))
    step_key: Mapped[str] = mapped_column(String(64))
    step_line: Mapped[int] = mapped_column(Integer)
    step_title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # ok | failed | skipped
    category: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(String(500))
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verified_by: Mapped[str] = mapped_column(String(160))
