"""The ``check_states`` table: one row per check (or SLO) of a service — its state, last result,
latency history, and the schedule lease that makes it run once per interval across workers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.tables import Base, JSONType, UTCDateTime


class CheckStateRow(Base):
    """A check's (kind ``check``) or SLO's (kind ``slo``) state and schedule.

    ``next_run_at`` and ``lease_until`` are claimed together by compare-and-set
    (``UPDATE … WHERE next_run_at <= now AND (lease_until IS NULL OR lease_until < now)``), so
    one worker runs each due check; ``lease_token`` fences a worker whose lease was taken over.
    """

    __tablename__ = "check_states"
    __table_args__ = (Index("ix_check_states_due", "next_run_at"),)

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    service: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # check | slo
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    successes: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(String(40))
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    history: Mapped[list[Any]] = mapped_column(JSONType, default=list)
