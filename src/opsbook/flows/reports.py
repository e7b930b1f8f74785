"""Report use cases: read a tenant's incidents of a period into plain records and compute figures.

Also the source of the ``/metrics`` report gauges: every scrape recomputes the last 30 days per
tenant, service and severity from the database, so every replica reports the same numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsbook.config.models import Config
from opsbook.core.clock import Clock
from opsbook.incidents.models import EntryKind
from opsbook.reports.compute import Figures, Report, compute_report, figures
from opsbook.reports.models import IncidentRecord, Period, StepRecord
from opsbook.storage.tables import Alert, Incident, StepRun, TimelineEntry

METRICS_WINDOW = timedelta(days=30)


def _chunks(ids: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def load_records(
    s: Session,
    tenant: str,
    period: Period,
    *,
    service: str | None = None,
    severity: str | None = None,
) -> tuple[list[IncidentRecord], list[StepRecord]]:
    """The tenant's incidents created in ``period`` and their step runs, as plain records."""
    q = select(Incident).where(
        Incident.tenant == tenant,
        Incident.created_at >= period.start,
        Incident.created_at < period.end,
    )
    if service:
        q = q.where(Incident.service == service)
    if severity:
        q = q.where(Incident.severity == severity)
    incidents = list(s.scalars(q))
    ids = [i.id for i in incidents]
    names: dict[str, set[str]] = defaultdict(set)
    levels: dict[str, int] = {}
    steps: list[StepRecord] = []
    for part in _chunks(ids):
        for iid, name in s.execute(
            select(Alert.incident_id, Alert.alertname).where(
                Alert.tenant == tenant, Alert.incident_id.in_(part)
            )
        ):
            names[iid].add(name)
        for iid, data in s.execute(
            select(TimelineEntry.incident_id, TimelineEntry.data).where(
                TimelineEntry.tenant == tenant,
                TimelineEntry.incident_id.in_(part),
                TimelineEntry.kind == EntryKind.ESCALATION.value,
            )
        ):
            level = (data or {}).get("level")
            if isinstance(level, int):
                levels[iid] = max(levels.get(iid, -1), level)
        steps += [
            StepRecord(r.incident_id, r.runbook_id, r.section_id, r.status, r.safety, r.finished_at)
            for r in s.scalars(
                select(StepRun).where(StepRun.tenant == tenant, StepRun.incident_id.in_(part))
            )
        ]
    records = [
        IncidentRecord(
            id=i.id,
            tenant=i.tenant,
            service=i.service,
            severity=i.severity,
            created_at=i.created_at,
            ack_deadline=i.ack_deadline,
            first_alert_at=i.first_alert_at,
            acknowledged_at=i.acknowledged_at,
            resolved_at=i.resolved_at,
            closed_at=i.closed_at,
            close_reason=i.close_reason,
            runbook_id=i.runbook_id,
            section_id=i.section_id,
            escalation_level=levels.get(i.id, -1),
            alertnames=tuple(sorted(names[i.id])),
        )
        for i in incidents
    ]
    return records, steps


def tenant_report(
    s: Session,
    tenant: str,
    period: Period,
    now: datetime,
    *,
    service: str | None = None,
    severity: str | None = None,
) -> Report:
    incidents, steps = load_records(s, tenant, period, service=service, severity=severity)
    return compute_report(incidents, steps, period, now)


Sample = tuple[str, dict[str, str], float]
"""(metric name, labels, value) for the ``/metrics`` report collector."""


def _samples(labels: dict[str, str], f: Figures) -> Iterator[Sample]:
    yield "incidents", labels, f.incidents
    for name, stats in (("mtta", f.mtta), ("mttd", f.mttd), ("mttr", f.mttr)):
        for stat in ("mean", "median", "p90"):
            value = getattr(stats, stat)
            if value is not None:
                yield f"{name}_seconds", {**labels, "stat": stat}, value
    yield "ack_breaches", labels, f.ack_breaches
    yield "escalated", labels, f.escalated
    if f.false_positive_rate is not None:
        yield "false_positive_ratio", labels, f.false_positive_rate
    if f.runbook_accuracy is not None:
        yield "runbook_accuracy_ratio", labels, f.runbook_accuracy


def metric_samples(s: Session, config: Config, now: datetime) -> list[Sample]:
    """Report figures of the last 30 days per tenant × service × severity, for Prometheus."""
    period = Period(now - METRICS_WINDOW, now)
    out: list[Sample] = []
    for t in config.tenants:
        incidents, steps = load_records(s, t.name, period)
        groups: dict[tuple[str, str], list[IncidentRecord]] = defaultdict(list)
        for i in incidents:
            groups[(i.service, i.severity)].append(i)
        for (service, severity), rows in sorted(groups.items()):
            labels = {"tenant": t.name, "service": service, "severity": severity}
            out += _samples(labels, figures(rows, steps, now))
    return out


def metric_source(
    sessions: sessionmaker[Session], config: Callable[[], Config], clock: Clock
) -> Callable[[], list[Sample]]:
    """A zero-argument source for ``Metrics.watch_reports``: one read-only session per scrape."""

    def read() -> list[Sample]:
        with sessions() as s:
            return metric_samples(s, config(), clock.now())

    return read
