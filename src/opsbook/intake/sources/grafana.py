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

from opsbook.intake.models import AlertIn
from opsbook.intake.sources.alertmanager import WebhookAlert, to_alert
from opsbook.intake.sources.common import Annotations, Labels, Url
from opsbook.intake.times import DEFAULT_BOUNDS, TimeBounds

LINKS = ("dashboardURL", "panelURL", "silenceURL", "imageURL")


class GrafanaAlert(WebhookAlert):
    """An Alertmanager webhook alert plus Grafana's links and values."""

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
    return [to_alert(a, "grafana", _annotations(a), now, bounds) for a in body.alerts]
