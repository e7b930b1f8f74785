"""The post-mortem's inputs (plain records) and the document it becomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

PostmortemStatus = Literal["draft", "complete"]
ItemStatus = Literal["open", "done"]


@dataclass(frozen=True)
class IncidentFacts:
    """The incident fields a post-mortem reports."""

    id: str
    tenant: str
    title: str
    service: str
    severity: str
    status: str
    created_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    closed_at: datetime | None = None
    close_reason: str | None = None
    commander: str | None = None
    first_alert_at: datetime | None = None
    runbook_path: str | None = None
    section_heading: str | None = None


@dataclass(frozen=True)
class EventFacts:
    """One timeline entry (or an alert's own start time), as stored."""

    at: datetime
    actor: str
    kind: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertFacts:
    alertname: str
    starts_at: datetime | None
    fingerprint: str = ""


@dataclass(frozen=True)
class StepFacts:
    """One step run: what ran, who asked, how it ended and the one-line result."""

    step_index: int
    step_title: str
    kind: str
    safety: str
    status: str
    command: str
    requested_by: str
    automatic: bool
    finished_at: datetime | None
    summary: str = ""


@dataclass(frozen=True)
class ActionItem:
    """A follow-up: what, who, by when, open or done."""

    id: str
    incident_id: str
    title: str
    owner: str | None
    due_date: date | None
    status: ItemStatus
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "incident_id": self.incident_id,
            "title": self.title,
            "owner": self.owner,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class Written:
    """What people wrote (stored): None when nothing is stored yet."""

    status: PostmortemStatus = "draft"
    summary: str = ""
    root_cause: str = ""
    contributing_factors: tuple[str, ...] = ()
    lessons: str = ""
    required: bool = False
    due_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None


@dataclass(frozen=True)
class Impact:
    started_at: datetime
    detected_at: datetime | None
    resolved_at: datetime | None
    duration_seconds: float | None
    severity: str
    services: tuple[str, ...]
    components: tuple[str, ...]
    status_page_seconds: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at.isoformat(),
            "detected_at": self.detected_at.isoformat() if self.detected_at else None,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "duration_seconds": self.duration_seconds,
            "severity": self.severity,
            "services": list(self.services),
            "components": list(self.components),
            "status_page_seconds": self.status_page_seconds,
        }


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str
    actor: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "kind": self.kind,
            "actor": self.actor,
            "message": self.message,
        }


@dataclass(frozen=True)
class Mitigation:
    """A step that ran, with its outcome."""

    at: datetime | None
    step: str
    command: str
    safety: str
    status: str
    summary: str
    by: str

    def to_dict(self) -> dict[str, Any]:
        d = dict(vars(self))
        d["at"] = self.at.isoformat() if self.at else None
        return d


@dataclass(frozen=True)
class PostMortem:
    """The whole document, as the API returns it and the Markdown export prints it."""

    incident: IncidentFacts
    exists: bool
    written: Written
    summary: str
    impact: Impact
    timeline: tuple[TimelineItem, ...]
    mitigations: tuple[Mitigation, ...]
    action_items: tuple[ActionItem, ...]

    def to_dict(self) -> dict[str, Any]:
        w = self.written
        return {
            "incident_id": self.incident.id,
            "title": self.incident.title,
            "exists": self.exists,
            "status": w.status,
            "required": w.required,
            "due_at": w.due_at.isoformat() if w.due_at else None,
            "commander": self.incident.commander,
            "summary": self.summary,
            "impact": self.impact.to_dict(),
            "timeline": [t.to_dict() for t in self.timeline],
            "root_cause": w.root_cause,
            "contributing_factors": list(w.contributing_factors),
            "lessons": w.lessons,
            "mitigations": [m.to_dict() for m in self.mitigations],
            "action_items": [a.to_dict() for a in self.action_items],
            "updated_at": w.updated_at.isoformat() if w.updated_at else None,
            "updated_by": w.updated_by,
        }
