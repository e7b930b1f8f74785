"""The UI's own notification inbox: one row per page delivered to a person's ``inbox://`` contact."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.tables import Base, UTCDateTime


class InboxItem(Base):
    """A message in one person's inbox. ``id`` is the delivery id (``ntf_…``), so a delivery
    attempted twice (at least once) is stored once; ``read_at`` is set when the person reads it."""

    __tablename__ = "inbox_items"
    __table_args__ = (Index("ix_inbox_items_user", "tenant", "user_name", "read_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    user_name: Mapped[str] = mapped_column(String(128))
    incident_id: Mapped[str | None] = mapped_column(String(40))
    severity: Mapped[str | None] = mapped_column(String(4))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
