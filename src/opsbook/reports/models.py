"""Plain records the report is computed from, and the period it covers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from opsbook.config.durations import parse_duration
from opsbook.core.errors import InputError

FINISHED_STEP = ("ok", "failed", "error", "timeout", "unavailable")
"""Step-run outcomes that count for accuracy: the step ran. Rejected or expired ones did not."""


@dataclass(frozen=True)
class IncidentRecord:
    """What the report needs of one incident (built from the incident row and its timeline)."""

    id: str
    tenant: str
    service: str
    severity: str
    created_at: datetime
    ack_deadline: datetime
    first_alert_at: datetime | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    close_reason: str | None = None
    runbook_id: str | None = None
    section_id: str | None = None
    escalation_level: int = -1  # highest 0-based level paged; -1 = never paged
    alertnames: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepRecord:
    """One step run of an incident: its outcome and whether it changed anything (a mitigation)."""

    incident_id: str
    runbook_id: str
    section_id: str
    status: str
    safety: str
    finished_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STEP

    @property
    def is_mitigation(self) -> bool:
        """Anything not read-only is a mitigation: it was run to change the system."""
        return self.safety != "read-only"


@dataclass(frozen=True)
class Period:
    """The half-open window [start, end) of incident creation times a report covers."""

    start: datetime
    end: datetime

    def __contains__(self, when: datetime) -> bool:
        return self.start <= when < self.end

    @classmethod
    def parse(cls, since: str, until: str | None, now: datetime) -> Period:
        """``since`` is a duration back from ``until`` (``30d``, ``12h``) or an ISO time;
        ``until`` is an ISO time or None for now. Errors name the field."""
        end = _when(until, "until") if until else now
        try:
            start = end - parse_duration(since)
        except ValueError:
            start = _when(since, "since")
        if start >= end:
            raise InputError(f"since ({start.isoformat()}) must be before until", field="since")
        return cls(start, end)

    @property
    def length(self) -> timedelta:
        return self.end - self.start


def _when(text: str, field: str) -> datetime:
    from datetime import UTC

    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{field}: expected a duration like 30d or an ISO time like 2026-01-01T00:00:00Z, "
            f"got {text!r}",
            field=field,
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
