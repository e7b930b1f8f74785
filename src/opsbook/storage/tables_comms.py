"""Tables of the communications slice: silences, silenced alerts, API maintenance windows,
component overrides, public status updates, subscribers and their queued notices.

Every row carries its tenant; every query filters on it. Public updates store only what a
commander published, so the status page reads nothing else about an incident.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.tables import Base, JSONType, UTCDateTime


class SilenceRow(Base):
    """An Alertmanager-style silence; expiring early sets ``ends_at`` to the time of expiry."""

    __tablename__ = "silences"
    __table_args__ = (Index("ix_silences_tenant_ends", "tenant", "ends_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    matchers: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)  # [{name, op, value}]
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(160))
    comment: Mapped[str] = mapped_column(Text, default="")
    forced: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expired_by: Mapped[str | None] = mapped_column(String(160))


class SilencedAlert(Base):
    """An alert that arrived while silenced: kept (not dropped) but opened no incident."""

    __tablename__ = "silenced_alerts"
    __table_args__ = (
        UniqueConstraint("tenant", "fingerprint", "silenced_by", name="uq_silenced_alerts_key"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(300))
    alertname: Mapped[str] = mapped_column(String(300))
    service: Mapped[str] = mapped_column(String(128))
    silenced_by: Mapped[str] = mapped_column(String(160))  # "silence:<id>" | "maintenance:<name>"
    labels: Mapped[dict[str, Any]] = mapped_column(JSONType)
    annotations: Mapped[dict[str, Any]] = mapped_column(JSONType)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    receive_count: Mapped[int] = mapped_column(Integer, default=1)


class MaintenanceRow(Base):
    """A one-off maintenance window made through the API (recurring ones live in the config)."""

    __tablename__ = "maintenance_windows"
    __table_args__ = (Index("ix_maintenance_tenant_end", "tenant", "ends_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    services: Mapped[list[str]] = mapped_column(JSONType)
    components: Mapped[list[str]] = mapped_column(JSONType)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    notify_before_s: Mapped[int] = mapped_column(Integer, default=3600)
    created_by: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ComponentOverrideRow(Base):
    """A commander's chosen state for a status-page component, optionally until ``expires_at``."""

    __tablename__ = "component_overrides"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    component: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    set_by: Mapped[str] = mapped_column(String(160))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StatusUpdateRow(Base):
    """One public update of an incident: exactly the text that was published, and its author."""

    __tablename__ = "status_updates"
    __table_args__ = (
        Index("ix_status_updates_incident", "tenant", "incident_id"),
        Index("ix_status_updates_tenant_created", "tenant", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    status: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    components: Mapped[list[str]] = mapped_column(JSONType)
    impact: Mapped[str] = mapped_column(String(32))
    author: Mapped[str] = mapped_column(String(160))  # internal: never rendered publicly
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SubscriberRow(Base):
    """An email address that asked for a tenant's public updates.

    Pending until the signed link sent to it is followed (``confirmed_at``); only confirmed
    addresses get notices. ``confirm_nonce`` is the one live link's nonce (cleared once used).
    """

    __tablename__ = "status_subscribers"
    __table_args__ = (UniqueConstraint("tenant", "email", name="uq_status_subscribers_email"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    confirm_nonce: Mapped[str | None] = mapped_column(String(32), default=None)


class StatusNoticeRow(Base):
    """A message queued for one subscriber (a public update or a maintenance notice).

    ``id`` is stable (source key + subscriber), so queueing twice stores it once; the notify
    outbox picks up rows whose ``queued_at`` is set and ``sent_at`` is not.
    """

    __tablename__ = "status_notices"
    __table_args__ = (Index("ix_status_notices_pending", "tenant", "sent_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    subscriber_id: Mapped[str] = mapped_column(ForeignKey("status_subscribers.id"))
    kind: Mapped[str] = mapped_column(String(32))  # update | maintenance
    source_key: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RateLimitRow(Base):
    """Requests counted per key (a hash of what is limited, e.g. a client address) in a fixed
    window; in the database so every replica shares one count (``storage.rate_limits``)."""

    __tablename__ = "rate_limits"
    __table_args__ = (Index("ix_rate_limits_window", "window_start"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    hits: Mapped[int] = mapped_column(Integer)
