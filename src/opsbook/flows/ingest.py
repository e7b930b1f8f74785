"""ingest_alerts: the use case behind every intake route — dedup, route, group, open or resolve.

Runs inside one transaction supplied by the caller; all of a batch is stored or none of it. The
rows a batch touches are loaded with a few set queries up front and written in one flush, so a
batch of a thousand alerts costs a handful of round trips, not thousands.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Table
from sqlalchemy.orm import Session

from opsbook.config.models import Config
from opsbook.core.ids import new_id
from opsbook.flows.escalation import paging_rows, stop_paging
from opsbook.flows.figures import note_alertnames
from opsbook.flows.postmortems import draft_on_resolve
from opsbook.flows.runbook_catalog import runbook_id
from opsbook.flows.silences import Quiet
from opsbook.flows.storms import StormIncident, Storms
from opsbook.incidents.lifecycle import ack_deadline
from opsbook.incidents.models import EntryKind, Severity, Status
from opsbook.incidents.storm import storm_key, storm_title
from opsbook.intake.models import AlertIn, EventAction
from opsbook.intake.routing import Decision, decide
from opsbook.runbooks.match import Match
from opsbook.storage import repos
from opsbook.storage.bulk import insert_rows
from opsbook.storage.jobs import follow_severity, job_row, severity_priority
from opsbook.storage.tables import Alert, Escalation, Incident, Job, TimelineEntry


@dataclass(frozen=True)
class IngestBatch:
    """The alerts of one intake request, with the tenant and integration of its token."""

    tenant: str
    integration: str
    alerts: list[AlertIn]
    truncated: int = 0


@dataclass
class IngestResult:
    """Per alert: opened, grouped, storm (joined its service's storm incident), deduplicated,
    refired, resolved, acknowledged, silenced or ignored."""

    outcomes: list[str] = field(default_factory=list)
    incident_ids: list[str | None] = field(default_factory=list)
    opened: list[tuple[str, str]] = field(default_factory=list)  # (incident id, severity)

    def counts(self) -> Counter[str]:
        return Counter(self.outcomes)

    def record(self, outcome: str, incident_id: str | None) -> None:
        self.outcomes.append(outcome)
        self.incident_ids.append(incident_id)


def _title(alert: AlertIn) -> str:
    summary, name = alert.summary, alert.alertname
    return (summary if summary.startswith(name) else f"{name}: {summary}")[:500]


INCIDENTS: Table = Incident.__table__  # type: ignore[assignment]
ALERTS: Table = Alert.__table__  # type: ignore[assignment]
ENTRIES: Table = TimelineEntry.__table__  # type: ignore[assignment]
JOBS: Table = Job.__table__  # type: ignore[assignment]
ESCALATIONS: Table = Escalation.__table__  # type: ignore[assignment]


DIAGNOSE_JOB = "diagnose"
RUNBOOK_COLUMNS = (
    "runbook_id",
    "runbook_path",
    "section_id",
    "section_heading",
    "match_rule",
    "match_score",
)


class SectionFinder(Protocol):
    """Finds the runbook section for an alert of a service (``RunbookCatalog.match``)."""

    def __call__(
        self,
        tenant: str,
        service: str,
        alertname: str,
        labels: Mapping[str, str],
        annotations: Mapping[str, str],
    ) -> Match | None: ...


class _New:
    """A row this batch adds: a plain object with the table's column names as attributes.

    New rows skip the ORM's per-object bookkeeping and are written with one bulk INSERT per table
    (executemany), which is what makes large batches cheap.
    """

    def __init__(self, **columns: Any) -> None:
        self.__dict__.update(columns)

    def __getattr__(self, name: str) -> Any:  # only reached for a missing column: a bug
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        self.__dict__[name] = value


class _Work:
    """The working set of one tenant's alerts in a transaction: loaded once, flushed once.

    Several intake requests committed together (group commit) share it, so a group of fifty
    single-alert requests costs the same few queries as one request of fifty alerts.
    """

    def __init__(
        self,
        s: Session,
        config: Config,
        tenant: str,
        alerts: list[AlertIn],
        now: datetime,
        finder: SectionFinder | None = None,
    ) -> None:
        self.s, self.config, self.tenant, self.now, self.finder = s, config, tenant, now, finder
        self.actor = ""
        self.integration = ""
        fps = sorted({a.fingerprint for a in alerts})
        self.current: dict[str, Alert | _New] = dict(repos.current_alerts(s, tenant, fps))
        # a re-sent firing alert only touches its own row; load incidents for the rest
        ids = sorted(
            {
                cur.incident_id
                for a in alerts
                if (cur := self.current.get(a.fingerprint)) is not None
                and not (a.action is EventAction.TRIGGER and cur.status == "firing")
            }
        )
        self.incidents: dict[str, Incident | _New] = dict(repos.incidents_by_id(s, tenant, ids))
        self.decisions = {
            a.fingerprint: decide(config, tenant, a)
            for a in alerts
            if a.action is EventAction.TRIGGER and a.fingerprint not in self.current
        }
        # the storm counters are locked before the open incidents are read (one storm per service)
        self.storms = Storms(s, config, tenant, now, self.decisions.values())
        keys = sorted({d.group_key for d in self.decisions.values()} | set(self.storms.keys))
        self.by_group: dict[str, Incident | _New] = dict(
            repos.open_incidents_by_group(s, tenant, keys)
        )
        self.incidents.update((i.id, i) for i in self.by_group.values())
        self.resolved_in: set[str] = set()
        self.new_incidents: list[_New] = []
        self.new_alerts: list[_New] = []
        self.new_entries: list[dict[str, Any]] = []
        self.new_jobs: list[dict[str, Any]] = []
        self.new_escalations: list[dict[str, Any]] = []
        self.quiet = Quiet.load(s, config, tenant, now)

    def apply(self, batch: IngestBatch) -> IngestResult:
        """Apply one request's alerts in order, acting as its integration."""
        self.integration, self.actor = batch.integration, f"integration:{batch.integration}"
        res = IngestResult()
        for alert in batch.alerts:
            if alert.action is EventAction.TRIGGER:
                self.trigger(alert, res)
            elif alert.action is EventAction.RESOLVE:
                self.resolve(alert, res)
            else:
                self.acknowledge(alert, res)
        self.storm_entries()
        if batch.truncated:
            for inc_id in sorted({i for i in res.incident_ids if i}):
                self.entry(
                    self.incident(inc_id),
                    EntryKind.COMMENT,
                    f"the sender truncated {batch.truncated} alert(s) from this notification",
                    {"truncated_alerts": batch.truncated},
                )
        return res

    def incident(self, inc_id: str) -> Incident | _New:
        """An incident of the working set, fetched on first use when the prefetch skipped it."""
        if inc_id not in self.incidents:
            self.incidents[inc_id] = repos.get_incident(self.s, self.tenant, inc_id)
        return self.incidents[inc_id]

    def entry(
        self, inc: Incident | _New, kind: str, message: str, data: dict[str, Any] | None = None
    ) -> None:
        self.new_entries.append(
            {
                "tenant": self.tenant,
                "incident_id": inc.id,
                "at": self.now,
                "actor": self.actor,
                "kind": kind,
                "message": message,
                "data": data or {},
            }
        )

    def _start(
        self, alert: AlertIn, d: Decision, key: str, title: str, storm: bool, **runbook: Any
    ) -> _New:
        """A new triggered incident for group ``key``, registered in this request and paged."""
        inc = _New(
            id=new_id("inc"),
            tenant=self.tenant,
            service=d.service,
            group_key=key,
            open_key=key,
            group_labels={} if storm else d.group_labels,
            title=title,
            severity=d.severity.value,
            status=Status.TRIGGERED.value,
            source=alert.source,
            auto_resolve=d.auto_resolve,
            commander=None,
            created_at=self.now,
            updated_at=self.now,
            ack_deadline=ack_deadline(self.now, self.config.ack_window(d.severity)),
            first_alert_at=alert.starts_at or self.now,
            alert_count=0,
            acknowledged_at=None,
            storm=storm,
            **runbook,
        )
        self.new_incidents.append(inc)
        paging = paging_rows(
            self.config, self.tenant, inc.id, d.service, d.severity.value, self.now, d.route_index
        )
        if paging is not None:
            self.new_escalations.append(paging[0])
            self.new_jobs.append(paging[1])
        self.by_group[key] = inc
        self.incidents[inc.id] = inc
        return inc

    def open_incident(self, alert: AlertIn, d: Decision) -> _New:
        inc = self._start(
            alert, d, d.group_key, _title(alert), False, **self.runbook_fields(d.service, alert)
        )
        route = f"route #{d.route_index + 1}" if d.route_index is not None else "the default route"
        self.entry(
            inc,
            EntryKind.OPENED,
            f"{d.severity} incident opened on {d.service} by alert {alert.alertname} ({route})",
            {
                "alertname": alert.alertname,
                "fingerprint": alert.fingerprint,
                "labels": alert.labels,
                "route": d.route_index,
            },
        )
        if inc.section_id is not None:
            self.entry(
                inc,
                EntryKind.RUNBOOK_MATCHED,
                f"runbook section {inc.section_heading!r} ({inc.runbook_path}) "
                f"{'suggested by full-text search' if inc.match_rule == 'fulltext' else 'matched'}"
                f" by rule {inc.match_rule}",
                {
                    "runbook_id": inc.runbook_id,
                    "section_id": inc.section_id,
                    "rule": inc.match_rule,
                    "score": inc.match_score,
                },
            )
            if inc.match_rule != "fulltext":  # a suggestion may be wrong: people start those steps
                self.diagnose(inc, "opened")
        return inc

    def storm_incident(self, alert: AlertIn, d: Decision, res: IngestResult) -> Incident | _New:
        """The open storm incident of ``d.service``, opened (and paged, once) if there is none."""
        key = storm_key(d.service)
        found = self.by_group.get(key)
        if found is not None:
            return found
        inc = self._start(
            alert, d, key, storm_title(d.service, 0, 0), True, **dict.fromkeys(RUNBOOK_COLUMNS)
        )
        self.storms.opened(inc)
        message, data = self.storms.opening_note(d)
        self.entry(inc, EntryKind.OPENED, message, data)
        res.opened.append((inc.id, inc.severity))
        return inc

    def storm_entries(self) -> None:
        """Timeline entries of the storms this request fed: one per storm, not one per alert."""
        services = {i.service for i in self.by_group.values() if getattr(i, "storm", False)}
        open_storm: dict[str, StormIncident] = {}
        for svc in services:
            found = self.by_group.get(storm_key(svc))
            if found is not None and found.open_key is not None:
                open_storm[svc] = found
        for storm, kind, message, data in self.storms.entries(open_storm):
            target = self.incidents[storm.id]
            target.updated_at = self.now
            if kind == EntryKind.SEVERITY_CHANGED and target.acknowledged_at is None:
                target.ack_deadline = min(
                    target.ack_deadline,
                    ack_deadline(self.now, self.config.ack_window(Severity(target.severity))),
                )
            self.entry(target, kind, message, data)

    def diagnose(self, inc: Incident | _New, reason: str) -> None:
        """Queue the service's automatic read-only steps: detect/investigate on open, validate on resolve."""
        svc = self.config.service(self.tenant, inc.service)
        if svc is None or inc.section_id is None or not svc.execution.auto_run:
            return
        if reason == "resolved" and not svc.execution.validate_on_resolve:
            return
        phases = list(svc.execution.auto_phases) if reason == "opened" else ["validate"]
        payload = {"incident_id": inc.id, "phases": phases, "reason": reason}
        self.new_jobs.append(
            job_row(
                self.tenant,
                DIAGNOSE_JOB,
                payload,
                self.now,
                priority=severity_priority(inc.severity),
                incident_id=inc.id,
            )
        )

    def runbook_fields(self, service: str, alert: AlertIn) -> dict[str, Any]:
        """The incident columns that record the runbook section found for its first alert."""
        m = (
            self.finder(self.tenant, service, alert.alertname, alert.labels, alert.annotations)
            if self.finder
            else None
        )
        if m is None:
            return dict.fromkeys(RUNBOOK_COLUMNS)
        return {
            "runbook_id": runbook_id(m.runbook.path),
            "runbook_path": m.runbook.path,
            "section_id": m.section.id,
            "section_heading": m.section.heading,
            "match_rule": m.rule,
            "match_score": m.score,
        }

    def trigger(self, alert: AlertIn, res: IngestResult) -> None:
        current = self.current.get(alert.fingerprint)
        if current is not None:
            current.last_received_at = self.now
            current.receive_count += 1
            current.ends_at = alert.ends_at
            if alert.annotations:
                current.annotations = alert.annotations
            if current.status == "firing":
                res.record("deduplicated", current.incident_id)
                return
            current.status = "firing"
            self.resolved_in.discard(current.incident_id)
            inc: Incident | _New = self.incident(current.incident_id)
            self.entry(
                inc,
                EntryKind.ALERT_FIRING,
                f"alert {alert.alertname} is firing again",
                {"fingerprint": alert.fingerprint},
            )
            res.record("refired", inc.id)
            return
        d = self.decisions.get(alert.fingerprint) or decide(self.config, self.tenant, alert)
        reason = self.quiet.check(alert.labels, d.service)
        if reason is not None:  # silenced or in maintenance: kept, but no incident and no page
            self.quiet.record(alert, d.service, reason)
            res.record("silenced", None)
            return
        found = self.by_group.get(d.group_key)
        if found is None and self.storms.joins(d):
            inc = self.storm_incident(alert, d, res)
            outcome = "storm"
            self.storms.joined(inc, alert.alertname[:300], d.severity)
        elif found is None:
            inc = self.open_incident(alert, d)
            res.opened.append((inc.id, inc.severity))
            outcome = "opened"
        else:
            inc = found
            outcome = "grouped"
            self.entry(
                inc,
                EntryKind.ALERT_FIRING,
                f"alert {alert.alertname} joined the incident",
                {"fingerprint": alert.fingerprint, "labels": alert.labels},
            )
            if d.severity.rank < Severity(inc.severity).rank:
                self.entry(
                    inc,
                    EntryKind.SEVERITY_CHANGED,
                    f"severity raised from {inc.severity} to {d.severity} by a more severe alert",
                    {"from": inc.severity, "to": d.severity.value},
                )
                inc.severity = d.severity.value
                if isinstance(inc, Incident):  # its queued ticks and messages take the new priority
                    follow_severity(self.s, self.tenant, inc.id, inc.severity)
                if inc.acknowledged_at is None:
                    inc.ack_deadline = min(
                        inc.ack_deadline, ack_deadline(self.now, self.config.ack_window(d.severity))
                    )
        row = _New(
            id=new_id("alr"),
            tenant=self.tenant,
            incident_id=inc.id,
            fingerprint=alert.fingerprint,
            source=alert.source,
            integration=self.integration,
            alertname=alert.alertname[:300],
            status="firing",
            severity=d.severity.value,
            labels=alert.labels,
            annotations=alert.annotations,
            starts_at=alert.starts_at,
            ends_at=alert.ends_at,
            generator_url=alert.generator_url,
            first_received_at=self.now,
            last_received_at=self.now,
            receive_count=1,
        )
        self.new_alerts.append(row)
        self.current[alert.fingerprint] = row
        inc.alert_count += 1
        inc.updated_at = self.now
        res.record(outcome, inc.id)
        if alert.time_note and outcome != "storm":  # a storm's alerts are digested, not noted
            self.entry(
                inc,
                EntryKind.COMMENT,
                f"alert {alert.alertname}: {alert.time_note}",
                {"fingerprint": alert.fingerprint, "time_clamped": True},
            )

    def resolve(self, alert: AlertIn, res: IngestResult) -> None:
        current = self.current.get(alert.fingerprint)
        if current is None or current.status != "firing":
            res.record("ignored", current.incident_id if current else None)
            return
        current.status = "resolved"
        current.ends_at = alert.ends_at or self.now
        current.last_received_at = self.now
        inc = self.incident(current.incident_id)
        inc.updated_at = self.now
        self.entry(
            inc,
            EntryKind.ALERT_RESOLVED,
            f"alert {alert.alertname} resolved",
            {"fingerprint": alert.fingerprint},
        )
        self.resolved_in.add(inc.id)
        res.record("resolved", inc.id)

    def acknowledge(self, alert: AlertIn, res: IngestResult) -> None:
        current = self.current.get(alert.fingerprint)
        inc = self.incidents.get(current.incident_id) if current else None
        if inc is None or inc.status != Status.TRIGGERED.value:
            res.record("ignored", inc.id if inc else None)
            return
        inc.status = Status.ACKNOWLEDGED.value
        inc.acknowledged_at, inc.acknowledged_by, inc.updated_at = self.now, self.actor, self.now
        self.entry(inc, EntryKind.ACKNOWLEDGED, "acknowledged by the sender")
        stop_paging(self.s, self.tenant, inc.id, "acknowledged", self.now)
        res.record("acknowledged", inc.id)

    def finish(self) -> None:
        """Resolve incidents whose alerts all resolved, then write everything."""
        self.storms.finish()  # before this commit's alerts are inserted
        self.s.flush()  # changes to rows that already existed
        candidates = sorted(i for i in self.resolved_in if self.incident(i).auto_resolve)
        auto_resolved: list[Incident | _New] = []
        if candidates:
            firing = repos.firing_counts(self.s, self.tenant, candidates)
            for a in self.new_alerts:
                if a.status == "firing":
                    firing[a.incident_id] = firing.get(a.incident_id, 0) + 1
            for inc_id in candidates:
                inc = self.incident(inc_id)
                if firing.get(inc_id, 0) == 0 and inc.open_key is not None:
                    inc.status, inc.open_key = Status.RESOLVED.value, None
                    inc.resolved_at, inc.resolved_by = self.now, self.actor
                    self.entry(
                        inc,
                        EntryKind.RESOLVED,
                        "all alerts resolved; incident resolved automatically",
                    )
                    self.diagnose(inc, "resolved")
                    stop_paging(self.s, self.tenant, inc.id, "resolved", self.now)
                    auto_resolved.append(inc)
        # Core executemany, parents first: no per-row ORM bookkeeping
        for table, rows in (
            (INCIDENTS, [vars(i) for i in self.new_incidents]),
            (ALERTS, [vars(a) for a in self.new_alerts]),
            (ENTRIES, self.new_entries),
            (ESCALATIONS, self.new_escalations),
            (JOBS, self.new_jobs),
        ):
            insert_rows(self.s.connection(), table, rows)
        note_alertnames(
            self.s, self.tenant, ((a.incident_id, a.alertname) for a in self.new_alerts)
        )
        self.s.flush()
        for inc in auto_resolved:  # after the insert: the draft points at the incident row
            draft_on_resolve(self.s, inc, self.now, self.config.postmortems.policy())


def ingest_many(
    s: Session,
    config: Config,
    batches: list[IngestBatch],
    now: datetime,
    finder: SectionFinder | None = None,
) -> list[IngestResult]:
    """Apply several requests' batches in arrival order in one transaction; the caller commits."""
    results: list[IngestResult] = []
    works: dict[str, _Work] = {}
    with s.no_autoflush:
        for tenant in dict.fromkeys(b.tenant for b in batches):
            alerts = [a for b in batches if b.tenant == tenant for a in b.alerts]
            works[tenant] = _Work(s, config, tenant, alerts, now, finder)
        results = [works[b.tenant].apply(b) for b in batches]
    for work in works.values():
        work.finish()
    return results


def ingest_alerts(s: Session, config: Config, batch: IngestBatch, now: datetime) -> IngestResult:
    """Apply every alert of one batch in order; the caller commits."""
    return ingest_many(s, config, [batch], now)[0]
