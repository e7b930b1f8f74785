"""Queries for load: storm counters and storm alertnames, and the backlog of unsent work.

Each is one indexed query whatever the number of rows behind it (indexes in ``tables_pressure``):
the storm decision reads one small row per service, the backlog reads grouped counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsbook.storage.tables import Alert, Delivery, Job
from opsbook.storage.tables_pressure import StormState


def storm_states(s: Session, tenant: str, services: Sequence[str]) -> dict[str, StormState]:
    """The storm counters of ``services``, locked for this transaction (in service order)."""
    q = (
        select(StormState)
        .where(StormState.tenant == tenant, StormState.service.in_(sorted(services)))
        .order_by(StormState.service)
        .with_for_update()
    )
    return {row.service: row for row in s.scalars(q)}


def alertnames_present(s: Session, tenant: str, incident_id: str, names: Sequence[str]) -> set[str]:
    """Which of ``names`` the incident already holds alerts of (500 names per query)."""
    out: set[str] = set()
    for i in range(0, len(names), 500):
        q = (
            select(Alert.alertname)
            .where(
                Alert.tenant == tenant,
                Alert.incident_id == incident_id,
                Alert.alertname.in_(names[i : i + 500]),
            )
            .distinct()
        )
        out.update(s.scalars(q))
    return out


def alertname_count(s: Session, tenant: str, incident_id: str) -> int:
    """Distinct alertnames of one incident (an index-only count; used when counters are lost)."""
    q = select(func.count(func.distinct(Alert.alertname))).where(
        Alert.tenant == tenant, Alert.incident_id == incident_id
    )
    return int(s.scalar(q) or 0)


@dataclass(frozen=True)
class Queue:
    """Unsent work of one kind: how many items wait and since when (None when none waits)."""

    kind: str
    priority: str
    depth: int
    oldest: datetime | None


def ready_jobs(s: Session, now: datetime, tenant: str | None = None) -> list[Queue]:
    """Queued jobs whose time has come, per kind (jobs scheduled for later are not a backlog)."""
    q = (
        select(Job.kind, func.count(), func.min(Job.run_after))
        .where(Job.status == "queued", Job.run_after <= now)
        .group_by(Job.kind)
    )
    if tenant is not None:
        q = q.where(Job.tenant == tenant)
    return [Queue(kind, "", int(n), oldest) for kind, n, oldest in s.execute(q).all()]


def pending_notifications(s: Session, tenant: str | None = None) -> Queue:
    """Messages queued and not yet sent (all tenants, or one for its UI banner)."""
    q = select(func.count(), func.min(Delivery.created_at)).where(Delivery.status == "pending")
    if tenant is not None:
        q = q.where(Delivery.tenant == tenant)
    n, oldest = s.execute(q).one()
    return Queue("notification", "", int(n or 0), oldest)
