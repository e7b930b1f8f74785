"""The ``drill_runs`` table: each rehearsal of an incident (a synthetic alert or an injected
fault), what had to follow within which time, when each thing happened, and whether the fault
was reverted — the record the drill scorecard is computed from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.tables import Base, JSONType, UTCDateTime


class DrillRun(Base):
    """One run of one drill. ``status`` is scheduled | running | passed | failed | aborted;
    ``fault`` is none | injecting | injected | reverting | reverted | revert_failed, so a server
    that restarts mid-drill finds every fault still to revert (``fault in (injecting, injected,
    reverting)``). ``expectations`` holds one object per expected event:
    ``{"name", "limit_s", "met_at", "seconds", "ok", "detail"}``."""

    __tablename__ = "drill_runs"
    __table_args__ = (
        Index("ix_drill_runs_tenant_started", "tenant", "started_at"),
        Index("ix_drill_runs_tenant_drill", "tenant", "drill", "started_at"),
        Index("ix_drill_runs_fault", "fault"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    drill: Mapped[str] = mapped_column(
        String(128)
    )  # the drill's name in opsbook.yaml, or "adhoc-…"
    service: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # alert | fault
    status: Mapped[str] = mapped_column(String(16))
    fault: Mapped[str] = mapped_column(String(16), default="none")
    started_by: Mapped[str] = mapped_column(String(160))  # a user, or "schedule"
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    injected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    reverted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    incident_id: Mapped[str | None] = mapped_column(String(40), default=None)
    expectations: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    reason: Mapped[str | None] = mapped_column(Text, default=None)  # why it failed or was aborted
