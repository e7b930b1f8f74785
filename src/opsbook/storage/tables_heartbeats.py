"""The ``heartbeat_states`` table: per configured heartbeat, its last ping and whether it is late.

The row is what survives a restart: the worker's sweep judges "overdue" from ``last_ping_at``
(or ``since``, when it was first known and never pinged), and flips ``status`` to ``late`` by
compare-and-set, so one worker raises the incident once however many sweep.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.tables import Base, UTCDateTime


class HeartbeatStateRow(Base):
    """One heartbeat of one tenant: ``waiting`` (never pinged), ``up`` or ``late``."""

    __tablename__ = "heartbeat_states"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    service: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))  # waiting | up | late
    since: Mapped[datetime] = mapped_column(UTCDateTime)  # the current status began
    last_ping_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_ping_via: Mapped[str | None] = mapped_column(String(32))  # api | alert:<name>
    pings: Mapped[int] = mapped_column(Integer, default=0)
    late_count: Mapped[int] = mapped_column(Integer, default=0)
