"""The ``rollouts`` table: one row per canary rollout — where it is, its lease, its history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.tables import Base, JSONType, UTCDateTime


class RolloutRow(Base):
    """A rollout of ``version`` for a service's rollout plan ``name``.

    ``active_key`` is ``tenant/name`` while the rollout runs or is paused and NULL afterwards:
    its unique index allows one active rollout per plan. ``target_weight`` is set while a weight
    change is being applied, so a restart in between knows it cannot be sure of the traffic.
    ``lease_until``/``lease_token`` make one worker drive it at a time (fenced writes).
    """

    __tablename__ = "rollouts"
    __table_args__ = (
        Index("ux_rollouts_active", "active_key", unique=True),
        Index("ix_rollouts_tenant_started", "tenant", "started_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    service: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    active_key: Mapped[str | None] = mapped_column(String(140))
    step: Mapped[int] = mapped_column(Integer, default=0)
    weight: Mapped[int] = mapped_column(Integer, default=0)
    target_weight: Mapped[int | None] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    passed: Mapped[list[str]] = mapped_column(JSONType, default=list)
    step_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_by: Mapped[str] = mapped_column(String(160))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(1000), default="")
    incident_id: Mapped[str | None] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(String(40))
    events: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    evaluations: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
