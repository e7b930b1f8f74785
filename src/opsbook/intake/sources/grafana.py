"""Grafana-alerting webhook contact point: Alertmanager's webhook body plus Grafana's own keys.

Each alert carries ``values`` (the query results that fired it), ``valueString``,
``dashboardURL``, ``panelURL``, ``silenceURL`` and its ``fingerprint``; the message has
``orgId``, ``title``, ``state`` and ``message``. The links and values become annotations, so a
responder sees the dashboard and the numbers on the incident; labels stay what Grafana sent.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from opsbook.intake.fingerprint import fingerprint
from opsbook.intake.models import AlertIn, EventAction
from opsbook.intake.sources.common import Annotations, Labels, Url, claimed_time, real_time
from opsbook.intake.times import DEFAULT_BOUNDS, TimeBounds, clamp

LINKS = ("dashboardURL", "panelURL", "silenceURL", "imageURL")


class GrafanaAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: Labels
    annotations: Annotations = {}
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    generatorURL: Url = ""
    fingerprint: str | None = Field(default=None, max_length=64)
    silenceURL: Url = ""
    dashboardURL: Url = ""
    panelURL: Url = ""
    imageURL: Url = ""
    values: dict[str, Any] | None = Field(default=None, max_length=128)
    valueString: str = Field(default="", max_length=65536)


class GrafanaWebhook(BaseModel):
    """The body a Grafana ``webhook`` contact point posts; unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore")

    receiver: str = Field(default="", max_length=1024)
    status: Literal["firing", "resolved"] = "firing"
    orgId: int | None = None
    alerts: list[GrafanaAlert] = Field(max_length=10000)
    groupLabels: Labels = {}
    commonLabels: Labels = {}
    commonAnnotations: Annotations = {}
    externalURL: Url = ""
    version: str = Field(default="1", max_length=16)
    groupKey: str = Field(default="", max_length=8192)
    truncatedAlerts: int = Field(default=0, ge=0)
    title: str = Field(default="", max_length=65536)
    state: str = Field(default="", max_length=64)
    message: str = Field(default="", max_length=65536)


def _annotations(a: GrafanaAlert) -> dict[str, str]:
    out = dict(a.annotations)
    for key in LINKS:
        link = getattr(a, key)
        if link:
            out.setdefault(key, link)
    if a.values:
        out.setdefault("values", json.dumps(a.values, sort_keys=True, default=str)[:65536])
    if a.valueString:
        out.setdefault("valueString", a.valueString)
    return out


def parse(
    body: GrafanaWebhook, now: datetime, bounds: TimeBounds = DEFAULT_BOUNDS
) -> list[AlertIn]:
    """One AlertIn per alert; Grafana's fingerprint is kept when it sends one. Times are judged
    against ``now``, the receipt time (``intake.times``)."""
    out = []
    for a in body.alerts:
        alert = AlertIn(
            source="grafana",
            fingerprint=a.fingerprint or fingerprint(a.labels),
            action=EventAction.TRIGGER if a.status == "firing" else EventAction.RESOLVE,
            labels=dict(a.labels),
            annotations=_annotations(a),
            starts_at=claimed_time(a.startsAt),
            ends_at=real_time(a.endsAt),
            generator_url=a.generatorURL,
        )
        out.append(clamp(alert, now, bounds))
    return out
