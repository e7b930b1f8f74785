"""Storage for load: the storm counter of each service, and the indexes behind the backlog gauges.

The indexes are declared here, on the tables of ``tables.py``, so the queries that read them
(``storage/pressure.py``) and their reason live next to each other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.tables import Alert, Base, Delivery, Job, JSONType, UTCDateTime


class StormState(Base):
    """The sliding-window count of new alert groups of one service (``incidents.storm``), and the
    storm incident it feeds while the service is storming. One small row per service."""

    __tablename__ = "storm_states"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    service: Mapped[str] = mapped_column(String(128), primary_key=True)
    slot_start: Mapped[datetime] = mapped_column(UTCDateTime)
    slots: Mapped[list[Any]] = mapped_column(JSONType)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    incident_id: Mapped[str | None] = mapped_column(String(40))  # the storm incident counted below
    alertnames: Mapped[int] = mapped_column(Integer, default=0)  # distinct alertnames in it
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# which alertnames a storm incident already holds (a batch looks up only its own names)
Index("ix_alerts_incident_alertname", Alert.tenant, Alert.incident_id, Alert.alertname)
# backlog gauges: ready jobs per kind, and pending notifications (per tenant for the UI banner)
Index("ix_jobs_backlog", Job.status, Job.kind, Job.run_after)
Index("ix_deliveries_backlog", Delivery.status, Delivery.tenant, Delivery.created_at)
