"""Generic events shaped like PagerDuty Events API v2 (trigger / acknowledge / resolve)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from opsbook.intake.models import AlertIn, EventAction
from opsbook.intake.sources.common import claimed_time
from opsbook.intake.times import DEFAULT_BOUNDS, TimeBounds, clamp


class EventPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    summary: str = Field(min_length=1, max_length=1024)
    source: str = Field(min_length=1, max_length=1024)
    severity: Literal["critical", "error", "warning", "info"]
    timestamp: datetime | None = None
    component: str | None = Field(default=None, max_length=1024)
    group: str | None = Field(default=None, max_length=1024)
    class_: str | None = Field(default=None, alias="class", max_length=1024)
    custom_details: dict[str, Any] | None = None


class Event(BaseModel):
    """``payload`` is required for ``trigger``; ``dedup_key`` for acknowledge and resolve."""

    model_config = ConfigDict(extra="ignore")

    event_action: Literal["trigger", "acknowledge", "resolve"]
    dedup_key: str | None = Field(default=None, min_length=1, max_length=255)
    routing_key: str | None = Field(default=None, max_length=255)
    payload: EventPayload | None = None
    client: str | None = Field(default=None, max_length=1024)
    client_url: str | None = Field(default=None, max_length=8192)

    @model_validator(mode="after")
    def _required_by_action(self) -> Event:
        if self.event_action == "trigger" and self.payload is None:
            raise ValueError("payload is required when event_action is trigger")
        if self.event_action != "trigger" and not self.dedup_key:
            raise ValueError(f"dedup_key is required when event_action is {self.event_action}")
        return self


def event_fingerprint(integration: str, dedup_key: str) -> str:
    """Events are idempotent per (integration, dedup key); the tenant scopes the rest."""
    return f"ev:{integration}:{dedup_key}"


def parse(
    event: Event, integration: str, now: datetime, bounds: TimeBounds = DEFAULT_BOUNDS
) -> tuple[AlertIn, str]:
    """The AlertIn and the dedup key to answer with (generated when a trigger has none);
    ``payload.timestamp`` is judged against ``now``, the receipt time (``intake.times``)."""
    dedup_key = event.dedup_key or uuid.uuid4().hex
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    severity = None
    starts = now
    if event.payload is not None:
        p = event.payload
        labels["alertname"] = p.class_ or p.summary[:200]
        labels["source"] = p.source
        labels["severity"] = p.severity
        for key, value in (("component", p.component), ("group", p.group)):
            if value:
                labels[key] = value
        annotations["summary"] = p.summary
        if p.custom_details:
            annotations["custom_details"] = json.dumps(p.custom_details, sort_keys=True)[:65536]
        severity = p.severity
        starts = claimed_time(p.timestamp) or now
    if event.client_url:
        annotations["client_url"] = event.client_url
    alert = AlertIn(
        source="events",
        fingerprint=event_fingerprint(integration, dedup_key),
        action=EventAction(event.event_action),
        labels=labels,
        annotations=annotations,
        starts_at=starts,
        ends_at=now if event.event_action == "resolve" else None,
        generator_url=event.client_url or "",
        severity_hint=severity,
    )
    return clamp(alert, now, bounds), dedup_key
