"""Alertmanager webhook v4 (what a ``webhook_configs`` receiver posts)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from opsbook.intake.fingerprint import fingerprint
from opsbook.intake.models import AlertIn, EventAction
from opsbook.intake.sources.common import Annotations, Labels, Url, claimed_time, real_time
from opsbook.intake.times import DEFAULT_BOUNDS, TimeBounds, clamp


class WebhookAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: Labels
    annotations: Annotations = {}
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    generatorURL: Url = ""
    fingerprint: str | None = Field(default=None, max_length=64)


class WebhookV4(BaseModel):
    """The body Alertmanager 0.x posts; unknown keys are ignored for forward compatibility."""

    model_config = ConfigDict(extra="ignore")

    version: str = "4"
    status: Literal["firing", "resolved"] = "firing"
    receiver: str = Field(default="", max_length=1024)
    groupKey: str = Field(default="", max_length=8192)
    truncatedAlerts: int = Field(default=0, ge=0)
    externalURL: Url = ""
    groupLabels: Labels = {}
    commonLabels: Labels = {}
    commonAnnotations: Annotations = {}
    alerts: list[WebhookAlert] = Field(max_length=10000)


def parse(body: WebhookV4, now: datetime, bounds: TimeBounds = DEFAULT_BOUNDS) -> list[AlertIn]:
    """One AlertIn per alert; Alertmanager's own fingerprint is kept when it sends one.
    Times are judged against ``now``, the receipt time (``intake.times``)."""
    return [to_alert(a, "alertmanager", dict(a.annotations), now, bounds) for a in body.alerts]


def to_alert(
    a: WebhookAlert, source: str, annotations: dict[str, str], now: datetime, bounds: TimeBounds
) -> AlertIn:
    """One webhook alert as an AlertIn (the sender's fingerprint kept when it sends one), its
    times judged against ``now``; shared by the Alertmanager and Grafana webhooks."""
    alert = AlertIn(
        source=source,
        fingerprint=a.fingerprint or fingerprint(a.labels),
        action=EventAction.TRIGGER if a.status == "firing" else EventAction.RESOLVE,
        labels=dict(a.labels),
        annotations=annotations,
        starts_at=claimed_time(a.startsAt),
        ends_at=real_time(a.endsAt),
        generator_url=a.generatorURL,
    )
    return clamp(alert, now, bounds)
