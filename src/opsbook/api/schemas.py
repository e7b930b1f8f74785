"""Response and request bodies of the incidents API, rendered from storage rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from opsbook.incidents.lifecycle import ack_met
from opsbook.incidents.models import CLOSE_REASONS, Severity
from opsbook.storage.tables import Alert, Incident, TimelineEntry


class AckTarget(BaseModel):
    """The severity's acknowledgement window: its deadline and whether it was met (null while pending)."""

    deadline: datetime
    met: bool | None
    breached: bool


class RunbookMatch(BaseModel):
    """The runbook section found for the incident's first alert; ``suggested`` for full-text matches."""

    runbook_id: str
    path: str
    section_id: str
    heading: str
    rule: str
    score: float | None
    suggested: bool
    section: dict[str, Any] | None = Field(
        default=None,
        description="the section in the runbook JSON format; null if the file changed since",
    )

    @classmethod
    def of(cls, inc: Incident, section: dict[str, Any] | None = None) -> RunbookMatch | None:
        if inc.runbook_id is None or inc.section_id is None:
            return None
        return cls(
            runbook_id=inc.runbook_id,
            path=inc.runbook_path or "",
            section_id=inc.section_id,
            heading=inc.section_heading or "",
            rule=inc.match_rule or "",
            score=inc.match_score,
            suggested=inc.match_rule == "fulltext",
            section=section,
        )


class IncidentOut(BaseModel):
    id: str
    service: str
    title: str
    severity: Severity
    status: str
    source: str
    commander: str | None
    group_labels: dict[str, Any]
    alert_count: int
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    closed_at: datetime | None
    close_reason: str | None
    acknowledgement: AckTarget
    runbook: RunbookMatch | None = None

    @classmethod
    def of(cls, inc: Incident, now: datetime) -> IncidentOut:
        met = ack_met(inc.ack_deadline, inc.acknowledged_at, now)
        if inc.acknowledged_at is None and inc.status in ("resolved", "closed"):
            end = inc.resolved_at or inc.closed_at or now
            met = None if end <= inc.ack_deadline else False
        return cls(
            id=inc.id,
            service=inc.service,
            title=inc.title,
            severity=Severity(inc.severity),
            status=inc.status,
            source=inc.source,
            commander=inc.commander,
            group_labels=inc.group_labels,
            alert_count=inc.alert_count,
            created_at=inc.created_at,
            updated_at=inc.updated_at,
            acknowledged_at=inc.acknowledged_at,
            acknowledged_by=inc.acknowledged_by,
            resolved_at=inc.resolved_at,
            resolved_by=inc.resolved_by,
            closed_at=inc.closed_at,
            close_reason=inc.close_reason,
            acknowledgement=AckTarget(deadline=inc.ack_deadline, met=met, breached=met is False),
            runbook=RunbookMatch.of(inc),
        )


class AlertOut(BaseModel):
    id: str
    fingerprint: str
    alertname: str
    status: str
    severity: Severity
    source: str
    integration: str
    labels: dict[str, Any]
    annotations: dict[str, Any]
    starts_at: datetime | None
    ends_at: datetime | None
    generator_url: str
    first_received_at: datetime
    last_received_at: datetime
    receive_count: int

    @classmethod
    def of(cls, a: Alert) -> AlertOut:
        return cls(
            id=a.id,
            fingerprint=a.fingerprint,
            alertname=a.alertname,
            status=a.status,
            severity=Severity(a.severity),
            source=a.source,
            integration=a.integration,
            labels=a.labels,
            annotations=a.annotations,
            starts_at=a.starts_at,
            ends_at=a.ends_at,
            generator_url=a.generator_url,
            first_received_at=a.first_received_at,
            last_received_at=a.last_received_at,
            receive_count=a.receive_count,
        )


class EntryOut(BaseModel):
    at: datetime
    actor: str
    kind: str
    message: str
    data: dict[str, Any]

    @classmethod
    def of(cls, e: TimelineEntry) -> EntryOut:
        return cls(at=e.at, actor=e.actor, kind=e.kind, message=e.message, data=e.data)


class IncidentDetail(IncidentOut):
    alerts: list[AlertOut]
    timeline: list[EntryOut]
    alerts_next: str | None = Field(
        default=None, description="URL of the next page of alerts (null: this is all of them)"
    )
    timeline_next: str | None = Field(
        default=None, description="URL of the next page of the timeline (null: all of it)"
    )

    @classmethod
    def full(
        cls,
        inc: Incident,
        alerts: Sequence[Alert],
        entries: Sequence[TimelineEntry],
        now: datetime,
        section: dict[str, Any] | None = None,
        *,
        alerts_next: str | None = None,
        timeline_next: str | None = None,
    ) -> IncidentDetail:
        base = IncidentOut.of(inc, now).model_dump()
        base["runbook"] = RunbookMatch.of(inc, section)
        return cls(
            **base,
            alerts=[AlertOut.of(a) for a in alerts],
            timeline=[EntryOut.of(e) for e in entries],
            alerts_next=alerts_next,
            timeline_next=timeline_next,
        )


class AlertPage(BaseModel):
    """One page of an incident's alerts, oldest first; ``next`` is the following page's URL."""

    items: list[AlertOut]
    next: str | None


class EntryPage(BaseModel):
    """One page of an incident's timeline, oldest first; ``next`` is the following page's URL."""

    items: list[EntryOut]
    next: str | None


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    total: int
    limit: int
    offset: int
    next: str | None = Field(
        default=None, description="URL of the next page (keyset cursor); null on the last page"
    )


Text = Field(default="", max_length=10000)


class ResolveIn(BaseModel):
    note: str = Text


class CloseIn(BaseModel):
    reason: Literal[CLOSE_REASONS] = "resolved"  # type: ignore[valid-type]
    note: str = Text


class CommentIn(BaseModel):
    text: str = Field(min_length=1, max_length=10000)


class IncidentPatch(BaseModel):
    severity: Severity | None = None
    commander: str | None = Field(default=None, min_length=1, max_length=128)


class DeclareIn(BaseModel):
    service: str = Field(min_length=1, max_length=128)
    severity: Severity
    title: str = Field(min_length=1, max_length=500)
    commander: str | None = Field(default=None, min_length=1, max_length=128)
