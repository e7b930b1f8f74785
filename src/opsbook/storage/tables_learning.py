"""Tables of the learning side: post-mortems (what people wrote) and their action items.

The post-mortem's timeline, impact and mitigations are not stored: they are rebuilt from the
incident's rows each time, so they never go stale. Every row carries its tenant.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.tables import Base, JSONType, UTCDateTime


class Postmortem(Base):
    """One post-mortem per incident: drafted on resolution, edited by the commander."""

    __tablename__ = "postmortems"
    __table_args__ = (Index("ix_postmortems_tenant_status", "tenant", "status"),)

    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # draft | complete
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    summary: Mapped[str] = mapped_column(Text, default="")
    root_cause: Mapped[str] = mapped_column(Text, default="")
    contributing_factors: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    lessons: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(160))
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ActionItemRow(Base):
    """A follow-up of a post-mortem: title, owner, due date, open or done."""

    __tablename__ = "action_items"
    __table_args__ = (
        Index("ix_action_items_tenant_status", "tenant", "status"),
        Index("ix_action_items_incident", "tenant", "incident_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[str] = mapped_column(ForeignKey("postmortems.incident_id"))
    title: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(128))
    due_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # open | done
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(160))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
