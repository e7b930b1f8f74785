"""AlertIn: one alert as every source is reduced to it, before routing and grouping."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class EventAction(StrEnum):
    """What the sender asks for; Alertmanager/Prometheus only ever trigger or resolve."""

    TRIGGER = "trigger"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


@dataclass(frozen=True)
class AlertIn:
    """A normalised alert. ``fingerprint`` is its identity for deduplication within a tenant."""

    source: str
    fingerprint: str
    action: EventAction
    labels: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    generator_url: str = ""
    severity_hint: str | None = None  # a sender's own severity word (events API)
    time_note: str = ""  # why a sender's startsAt/endsAt was replaced (intake.times); "" if not

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname") or self.labels.get("__name__") or "alert"

    @property
    def summary(self) -> str:
        a = self.annotations
        return a.get("summary") or a.get("description") or a.get("message") or self.alertname
