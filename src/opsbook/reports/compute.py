"""compute_report(incidents, steps, period, now): every figure of the report, from plain records.

Definitions (each one is what a responder would check by hand on the timeline):
- MTTA: created → acknowledged, over incidents acknowledged.
- MTTD: first alert ``startsAt`` → incident created, over incidents opened by an alert.
- MTTR: created → resolved, over incidents resolved (or closed, which resolves).
- ack breach: acknowledged after the severity's deadline, or never acknowledged while the
  deadline passed before it resolved (or before the period's end / now if still open).
- escalated: paged beyond the first level of its escalation policy.
- false-positive rate: closed as ``false_positive`` / all closed.
- runbook accuracy: step runs that succeeded / step runs that finished (ran at all).
- per section: incidents whose mitigations ran, and how many of those resolved afterwards
  (not as a false positive): does the section's cure work?
- noisy alerts: incidents per alert name, most first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opsbook.reports.models import IncidentRecord, Period, StepRecord
from opsbook.reports.stats import TimeStats, ratio
from opsbook.reports.targets import DEFAULT_TARGETS, Target, TargetCheck, check_targets


@dataclass(frozen=True)
class Figures:
    """The figures of one slice of incidents (all, one service, one severity)."""

    incidents: int
    mtta: TimeStats
    mttd: TimeStats
    mttr: TimeStats
    ack_breaches: int
    escalated: int
    closed: int
    false_positives: int
    false_positive_rate: float | None
    steps_finished: int
    steps_ok: int
    runbook_accuracy: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "incidents": self.incidents,
            "mtta_seconds": self.mtta.to_dict(),
            "mttd_seconds": self.mttd.to_dict(),
            "mttr_seconds": self.mttr.to_dict(),
            "ack_breaches": self.ack_breaches,
            "escalated": self.escalated,
            "closed": self.closed,
            "false_positives": self.false_positives,
            "false_positive_rate": self.false_positive_rate,
            "steps_finished": self.steps_finished,
            "steps_ok": self.steps_ok,
            "runbook_accuracy": self.runbook_accuracy,
        }


@dataclass(frozen=True)
class SectionFigures:
    """How one runbook section fared: its steps' success and its mitigations' effect."""

    runbook_id: str
    section_id: str
    incidents: int
    steps_finished: int
    steps_ok: int
    accuracy: float | None
    mitigated: int
    resolved_after_mitigation: int
    mitigation_success: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class NoisyAlert:
    alertname: str
    incidents: int
    false_positives: int

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class Report:
    period: Period
    overall: Figures
    by_service: dict[str, Figures]
    by_severity: dict[str, Figures]
    sections: list[SectionFigures]
    noisy_alerts: list[NoisyAlert]
    targets: list[TargetCheck] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": {
                "since": self.period.start.isoformat(),
                "until": self.period.end.isoformat(),
            },
            "overall": self.overall.to_dict(),
            "by_service": {k: v.to_dict() for k, v in self.by_service.items()},
            "by_severity": {k: v.to_dict() for k, v in self.by_severity.items()},
            "sections": [x.to_dict() for x in self.sections],
            "noisy_alerts": [x.to_dict() for x in self.noisy_alerts],
            "targets": [t.to_dict() for t in self.targets],
        }


def _ack_breached(i: IncidentRecord, as_of: datetime) -> bool:
    if i.acknowledged_at is not None:
        return i.acknowledged_at > i.ack_deadline
    return (i.resolved_at or as_of) > i.ack_deadline


def figures(
    incidents: Sequence[IncidentRecord], steps: Iterable[StepRecord], as_of: datetime
) -> Figures:
    """The figures of these incidents and of the step runs that belong to them."""
    ids = {i.id for i in incidents}
    mine = [r for r in steps if r.incident_id in ids and r.finished]
    closed = [i for i in incidents if i.closed_at is not None]
    fps = sum(1 for i in closed if i.close_reason == "false_positive")
    ok = sum(1 for r in mine if r.status == "ok")
    return Figures(
        incidents=len(incidents),
        mtta=TimeStats.of(i.acknowledged_at - i.created_at for i in incidents if i.acknowledged_at),
        mttd=TimeStats.of(i.created_at - i.first_alert_at for i in incidents if i.first_alert_at),
        mttr=TimeStats.of(i.resolved_at - i.created_at for i in incidents if i.resolved_at),
        ack_breaches=sum(1 for i in incidents if _ack_breached(i, as_of)),
        escalated=sum(1 for i in incidents if i.escalation_level >= 1),
        closed=len(closed),
        false_positives=fps,
        false_positive_rate=ratio(fps, len(closed)),
        steps_finished=len(mine),
        steps_ok=ok,
        runbook_accuracy=ratio(ok, len(mine)),
    )


def _sections(
    incidents: Sequence[IncidentRecord], steps: Sequence[StepRecord]
) -> list[SectionFigures]:
    by_incident = {i.id: i for i in incidents}
    keys: dict[tuple[str, str], set[str]] = defaultdict(set)
    for i in incidents:
        if i.runbook_id and i.section_id:
            keys[(i.runbook_id, i.section_id)].add(i.id)
    runs: dict[tuple[str, str], list[StepRecord]] = defaultdict(list)
    for r in steps:
        if r.incident_id in by_incident:
            runs[(r.runbook_id, r.section_id)].append(r)
            keys[(r.runbook_id, r.section_id)].add(r.incident_id)
    out = []
    for key in sorted(keys):
        finished = [r for r in runs[key] if r.finished]
        ok = sum(1 for r in finished if r.status == "ok")
        first_fix: dict[str, datetime] = {}
        for r in finished:
            if r.status == "ok" and r.is_mitigation and r.finished_at is not None:
                prev = first_fix.get(r.incident_id)
                first_fix[r.incident_id] = min(prev, r.finished_at) if prev else r.finished_at
        worked = 0
        for iid, at in first_fix.items():
            inc = by_incident[iid]
            if inc.resolved_at and inc.resolved_at >= at and inc.close_reason != "false_positive":
                worked += 1
        out.append(
            SectionFigures(
                runbook_id=key[0],
                section_id=key[1],
                incidents=len(keys[key]),
                steps_finished=len(finished),
                steps_ok=ok,
                accuracy=ratio(ok, len(finished)),
                mitigated=len(first_fix),
                resolved_after_mitigation=worked,
                mitigation_success=ratio(worked, len(first_fix)),
            )
        )
    return out


def _noisy(incidents: Sequence[IncidentRecord]) -> list[NoisyAlert]:
    count: dict[str, int] = defaultdict(int)
    fps: dict[str, int] = defaultdict(int)
    for i in incidents:
        for name in set(i.alertnames):
            count[name] += 1
            fps[name] += i.close_reason == "false_positive"
    ranked = sorted(count, key=lambda n: (-count[n], n))
    return [NoisyAlert(n, count[n], fps[n]) for n in ranked]


def _group(incidents: Sequence[IncidentRecord], attr: str) -> dict[str, list[IncidentRecord]]:
    out: dict[str, list[IncidentRecord]] = defaultdict(list)
    for i in incidents:
        out[getattr(i, attr)].append(i)
    return dict(sorted(out.items()))


def compute_report(
    incidents: Iterable[IncidentRecord],
    steps: Iterable[StepRecord],
    period: Period,
    now: datetime,
    targets: Sequence[Target] = DEFAULT_TARGETS,
) -> Report:
    """The report over incidents created in ``period`` (records outside it are ignored)."""
    chosen = sorted((i for i in incidents if i.created_at in period), key=lambda i: i.created_at)
    runs = list(steps)
    as_of = min(period.end, now)
    overall = figures(chosen, runs, as_of)
    by_service = {k: figures(v, runs, as_of) for k, v in _group(chosen, "service").items()}
    by_severity = {k: figures(v, runs, as_of) for k, v in _group(chosen, "severity").items()}
    report = Report(
        period=period,
        overall=overall,
        by_service=by_service,
        by_severity=by_severity,
        sections=_sections(chosen, runs),
        noisy_alerts=_noisy(chosen),
    )
    report.targets.extend(check_targets(report.overall, report.by_severity, targets))
    return report
