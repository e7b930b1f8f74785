"""Summary rows kept as the data changes, so reports and ``/metrics`` never read history.

A report needs of each incident, besides its own row, two facts that otherwise live in history:
the alert names it holds (from ``alerts``, a million rows) and the highest escalation level it
paged (from ``timeline_entries``). Both are written here when they happen (``flows.figures``):
one small row per distinct name and one per paged incident. Reads always join ``incidents``, so
a purged incident's leftovers count for nothing. Also the indexes the scale-sensitive pages use.
"""

from __future__ import annotations

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.tables import Alert, Base, Incident, TimelineEntry


class IncidentAlertName(Base):
    """One distinct alert name of one incident (noisy alerts: incidents per alert name)."""

    __tablename__ = "incident_alertnames"

    incident_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    alertname: Mapped[str] = mapped_column(String(300), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))


class IncidentLevel(Base):
    """The highest 0-based escalation level an incident paged (escalated: level ≥ 1)."""

    __tablename__ = "incident_levels"

    incident_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer)


# an incident's alerts page by page, oldest first (keyset on first_received_at, id)
Index("ix_alerts_incident_received", Alert.incident_id, Alert.first_received_at, Alert.id)
# an incident's timeline page by page, oldest first (keyset on at, id)
Index("ix_timeline_incident_at", TimelineEntry.incident_id, TimelineEntry.at, TimelineEntry.id)
# incidents list: closed ones per severity, newest first (keyset on created_at, id), also by
# service; reports with a severity or service filter
Index(
    "ix_incidents_tenant_severity",
    Incident.tenant,
    Incident.severity,
    Incident.created_at,
    Incident.id,
)
Index(
    "ix_incidents_tenant_service",
    Incident.tenant,
    Incident.service,
    Incident.severity,
    Incident.created_at,
    Incident.id,
)
# status page history: incidents still open or resolved within its days
Index("ix_incidents_tenant_resolved", Incident.tenant, Incident.resolved_at)
# the open-incidents gauge: only the open ones, whatever the tenant (covering)
Index(
    "ix_incidents_open_gauge",
    Incident.open_key,
    Incident.tenant,
    Incident.service,
    Incident.severity,
)
