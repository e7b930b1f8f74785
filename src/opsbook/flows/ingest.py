"""ingest_alerts: the use case behind every intake route — dedup, route, group, open or resolve.

Runs inside one transaction supplied by the caller; all of a batch is stored or none of it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from opsbook.config.models import Config
from opsbook.core.ids import new_id
from opsbook.incidents.lifecycle import ack_deadline
from opsbook.incidents.models import EntryKind, Severity, Status
from opsbook.intake.models import AlertIn, EventAction
from opsbook.intake.routing import Decision, decide
from opsbook.storage import repos
from opsbook.storage.tables import Alert, Incident


@dataclass(frozen=True)
class IngestBatch:
    """The alerts of one intake request, with the tenant and integration of its token."""

    tenant: str
    integration: str
    alerts: list[AlertIn]
    truncated: int = 0


@dataclass
class IngestResult:
    """What happened to each alert: opened, grouped, deduplicated, refired, resolved, acknowledged, ignored."""

    outcomes: list[str] = field(default_factory=list)
    incident_ids: list[str | None] = field(default_factory=list)
    opened: list[tuple[str, str]] = field(default_factory=list)  # (incident id, severity)

    def counts(self) -> Counter[str]:
        return Counter(self.outcomes)


def _title(alert: AlertIn) -> str:
    summary = alert.summary
    name = alert.alertname
    return (summary if summary.startswith(name) else f"{name}: {summary}")[:500]


def _open_incident(
    s: Session, config: Config, batch: IngestBatch, alert: AlertIn, d: Decision, now: datetime
) -> Incident:
    inc = Incident(
        id=new_id("inc"),
        tenant=batch.tenant,
        service=d.service,
        group_key=d.group_key,
        open_key=d.group_key,
        group_labels=d.group_labels,
        title=_title(alert),
        severity=d.severity.value,
        status=Status.TRIGGERED.value,
        source=alert.source,
        auto_resolve=d.auto_resolve,
        created_at=now,
        updated_at=now,
        ack_deadline=ack_deadline(now, config.ack_window(d.severity)),
        first_alert_at=alert.starts_at or now,
        alert_count=0,
    )
    s.add(inc)
    s.flush()  # the incident row must exist before rows that reference it
    route = f"route #{d.route_index + 1}" if d.route_index is not None else "the default route"
    repos.add_entry(
        s,
        inc,
        now,
        f"integration:{batch.integration}",
        EntryKind.OPENED,
        f"{d.severity} incident opened on {d.service} by alert {alert.alertname} ({route})",
        {
            "alertname": alert.alertname,
            "fingerprint": alert.fingerprint,
            "labels": alert.labels,
            "route": d.route_index,
        },
    )
    return inc


def _trigger(
    s: Session, config: Config, batch: IngestBatch, alert: AlertIn, now: datetime, res: IngestResult
) -> None:
    actor = f"integration:{batch.integration}"
    current = repos.current_alert(s, batch.tenant, alert.fingerprint)
    if current is not None:
        current.last_received_at = now
        current.receive_count += 1
        current.annotations = alert.annotations or current.annotations
        current.ends_at = alert.ends_at
        if current.status == "firing":
            res.outcomes.append("deduplicated")
        else:
            current.status = "firing"
            inc = repos.get_incident(s, batch.tenant, current.incident_id)
            repos.add_entry(
                s,
                inc,
                now,
                actor,
                EntryKind.ALERT_FIRING,
                f"alert {alert.alertname} is firing again",
                {"fingerprint": alert.fingerprint},
            )
            res.outcomes.append("refired")
        res.incident_ids.append(current.incident_id)
        return
    d = decide(config, batch.tenant, alert)
    found = repos.open_incident_for_group(s, batch.tenant, d.group_key)
    if found is None:
        inc = _open_incident(s, config, batch, alert, d, now)
        res.outcomes.append("opened")
        res.opened.append((inc.id, inc.severity))
    else:
        inc = found
        res.outcomes.append("grouped")
        repos.add_entry(
            s,
            inc,
            now,
            actor,
            EntryKind.ALERT_FIRING,
            f"alert {alert.alertname} joined the incident",
            {"fingerprint": alert.fingerprint, "labels": alert.labels},
        )
        if Severity(d.severity).rank < Severity(inc.severity).rank:
            repos.add_entry(
                s,
                inc,
                now,
                actor,
                EntryKind.SEVERITY_CHANGED,
                f"severity raised from {inc.severity} to {d.severity} by a more severe alert",
                {"from": inc.severity, "to": d.severity.value},
            )
            inc.severity = d.severity.value
            if inc.acknowledged_at is None:
                inc.ack_deadline = min(
                    inc.ack_deadline, ack_deadline(now, config.ack_window(d.severity))
                )
    s.add(
        Alert(
            id=new_id("alr"),
            tenant=batch.tenant,
            incident_id=inc.id,
            fingerprint=alert.fingerprint,
            source=alert.source,
            integration=batch.integration,
            alertname=alert.alertname[:300],
            status="firing",
            severity=d.severity.value,
            labels=alert.labels,
            annotations=alert.annotations,
            starts_at=alert.starts_at,
            ends_at=alert.ends_at,
            generator_url=alert.generator_url,
            first_received_at=now,
            last_received_at=now,
            receive_count=1,
        )
    )
    inc.alert_count += 1
    inc.updated_at = now
    res.incident_ids.append(inc.id)


def _resolve(
    s: Session, batch: IngestBatch, alert: AlertIn, now: datetime, res: IngestResult
) -> None:
    current = repos.current_alert(s, batch.tenant, alert.fingerprint)
    if current is None or current.status != "firing":
        res.outcomes.append("ignored")
        res.incident_ids.append(current.incident_id if current else None)
        return
    actor = f"integration:{batch.integration}"
    current.status = "resolved"
    current.ends_at = alert.ends_at or now
    current.last_received_at = now
    inc = repos.get_incident(s, batch.tenant, current.incident_id)
    repos.add_entry(
        s,
        inc,
        now,
        actor,
        EntryKind.ALERT_RESOLVED,
        f"alert {alert.alertname} resolved",
        {"fingerprint": alert.fingerprint},
    )
    s.flush()
    if inc.auto_resolve and repos.firing_count(s, batch.tenant, inc.id) == 0:
        inc.status = Status.RESOLVED.value
        inc.open_key = None
        inc.resolved_at = now
        inc.resolved_by = actor
        repos.add_entry(
            s,
            inc,
            now,
            actor,
            EntryKind.RESOLVED,
            "all alerts resolved; incident resolved automatically",
        )
    inc.updated_at = now
    res.outcomes.append("resolved")
    res.incident_ids.append(inc.id)


def _acknowledge(
    s: Session, batch: IngestBatch, alert: AlertIn, now: datetime, res: IngestResult
) -> None:
    current = repos.current_alert(s, batch.tenant, alert.fingerprint)
    inc = repos.get_incident(s, batch.tenant, current.incident_id) if current else None
    if inc is None or inc.status != Status.TRIGGERED.value:
        res.outcomes.append("ignored")
        res.incident_ids.append(inc.id if inc else None)
        return
    actor = f"integration:{batch.integration}"
    inc.status = Status.ACKNOWLEDGED.value
    inc.acknowledged_at = now
    inc.acknowledged_by = actor
    inc.updated_at = now
    repos.add_entry(s, inc, now, actor, EntryKind.ACKNOWLEDGED, "acknowledged by the sender")
    res.outcomes.append("acknowledged")
    res.incident_ids.append(inc.id)


def ingest_alerts(s: Session, config: Config, batch: IngestBatch, now: datetime) -> IngestResult:
    """Apply every alert of ``batch`` in order; the caller commits."""
    res = IngestResult()
    for alert in batch.alerts:
        if alert.action is EventAction.TRIGGER:
            _trigger(s, config, batch, alert, now, res)
        elif alert.action is EventAction.RESOLVE:
            _resolve(s, batch, alert, now, res)
        else:
            _acknowledge(s, batch, alert, now, res)
    if batch.truncated:
        for inc_id in {i for i in res.incident_ids if i}:
            inc = repos.get_incident(s, batch.tenant, inc_id)
            repos.add_entry(
                s,
                inc,
                now,
                f"integration:{batch.integration}",
                EntryKind.COMMENT,
                f"the sender truncated {batch.truncated} alert(s) from this notification",
                {"truncated_alerts": batch.truncated},
            )
    s.flush()
    return res
