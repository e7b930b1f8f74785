"""Report use cases: read a tenant's incidents of a period into plain records and compute figures.

Also the source of the ``/metrics`` report gauges: every scrape recomputes the last 30 days per
tenant, service and severity from the database, so every replica reports the same numbers. Both
read the period's incident rows and summary rows only (``load_records``), never history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, sessionmaker

from opsbook.config.models import Config
from opsbook.core.clock import Clock
from opsbook.reports.compute import Figures, Report, compute_report, figures
from opsbook.reports.models import IncidentRecord, Period, StepRecord
from opsbook.storage.tables import Incident, StepRun
from opsbook.storage.tables_summary import IncidentAlertName, IncidentLevel

METRICS_WINDOW = timedelta(days=30)


def _incidents(
    tenant: str,
    period: Period,
    service: str | None,
    severity: str | None,
    include_drills: bool = False,
) -> list[ColumnElement[bool]]:
    where = [
        Incident.tenant == tenant,
        Incident.created_at >= period.start,
        Incident.created_at < period.end,
    ]
    if not include_drills:  # rehearsals would skew every real figure
        where.append(Incident.drill_run_id.is_(None))
    if service:
        where.append(Incident.service == service)
    if severity:
        where.append(Incident.severity == severity)
    return where


def load_records(
    s: Session,
    tenant: str,
    period: Period,
    *,
    service: str | None = None,
    severity: str | None = None,
    alertnames: bool = True,
    include_drills: bool = False,
) -> tuple[list[IncidentRecord], list[StepRecord]]:
    """The tenant's incidents created in ``period`` and their step runs, as plain records.

    Three indexed queries over the period's incidents: their rows joined with the summary of
    their escalation level, their alert names (``tables_summary``; skipped when ``alertnames``
    is false) and their step runs. Nothing reads alerts or timelines, whatever their number.
    Drill incidents (``drill_run_id`` set) are left out unless ``include_drills``.
    """
    where = _incidents(tenant, period, service, severity, include_drills)
    level = func.coalesce(IncidentLevel.level, -1)
    rows: Sequence[Any] = s.execute(
        select(*_RECORD_COLUMNS, level)
        .outerjoin(IncidentLevel, IncidentLevel.incident_id == Incident.id)
        .where(*where)
    ).all()
    names: dict[str, list[str]] = defaultdict(list)
    if alertnames and rows:
        q = (
            select(IncidentAlertName.incident_id, IncidentAlertName.alertname)
            .join(Incident, Incident.id == IncidentAlertName.incident_id)
            .where(*where)
        )
        for iid, name in s.execute(q):
            names[iid].append(name)
    steps: list[StepRecord] = []
    if rows:
        q2 = (
            select(
                StepRun.incident_id,
                StepRun.runbook_id,
                StepRun.section_id,
                StepRun.status,
                StepRun.safety,
                StepRun.finished_at,
            )
            .join(Incident, Incident.id == StepRun.incident_id)
            .where(StepRun.tenant == tenant, *where)
            .order_by(StepRun.requested_at, StepRun.id)
        )
        steps = [StepRecord(*r) for r in s.execute(q2)]
    records = [
        IncidentRecord(
            **dict(zip(_RECORD_FIELDS, r[:-1], strict=True)),
            escalation_level=r[-1],
            alertnames=tuple(sorted(names.get(r[0], ()))),
        )
        for r in rows
    ]
    return records, steps


_RECORD_COLUMNS = (
    Incident.id,
    Incident.tenant,
    Incident.service,
    Incident.severity,
    Incident.created_at,
    Incident.ack_deadline,
    Incident.first_alert_at,
    Incident.acknowledged_at,
    Incident.resolved_at,
    Incident.closed_at,
    Incident.close_reason,
    Incident.runbook_id,
    Incident.section_id,
)
"""The incident columns an ``IncidentRecord`` takes, in its field order."""
_RECORD_FIELDS: tuple[str, ...] = tuple(c.key for c in _RECORD_COLUMNS)


def tenant_report(
    s: Session,
    tenant: str,
    period: Period,
    now: datetime,
    *,
    service: str | None = None,
    severity: str | None = None,
    include_drills: bool = False,
) -> Report:
    """The tenant's report of ``period``; drill incidents only when ``include_drills``."""
    incidents, steps = load_records(
        s, tenant, period, service=service, severity=severity, include_drills=include_drills
    )
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
    """Report figures of the last 30 days per tenant × service × severity, for Prometheus
    (real incidents only: drills are left out)."""
    period = Period(now - METRICS_WINDOW, now)
    out: list[Sample] = []
    for t in config.tenants:
        incidents, steps = load_records(s, t.name, period, alertnames=False)
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
