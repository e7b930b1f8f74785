"""Alertmanager API v2 ``POST /api/v2/alerts``: what Prometheus posts to its alertmanagers.

Prometheus re-sends every active alert on each evaluation with ``endsAt`` a few minutes ahead;
a resolved alert arrives with ``endsAt`` in the past.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, RootModel

from opsbook.intake.fingerprint import fingerprint
from opsbook.intake.models import AlertIn, EventAction
from opsbook.intake.sources.common import Annotations, Labels, Url, claimed_time, real_time
from opsbook.intake.times import DEFAULT_BOUNDS, TimeBounds, clamp


class PostableAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    labels: Labels
    annotations: Annotations = {}
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    generatorURL: Url = ""


class PostableAlerts(RootModel[list[PostableAlert]]):
    """A JSON array of alerts."""


def parse(
    alerts: list[PostableAlert], now: datetime, bounds: TimeBounds = DEFAULT_BOUNDS
) -> list[AlertIn]:
    """An ``endsAt`` at or before ``now`` means resolved; otherwise firing. Times are judged
    against ``now``, the receipt time (``intake.times``)."""
    out = []
    for a in alerts:
        ends = real_time(a.endsAt)
        resolved = ends is not None and ends <= now
        alert = AlertIn(
            source="prometheus",
            fingerprint=fingerprint(a.labels),
            action=EventAction.RESOLVE if resolved else EventAction.TRIGGER,
            labels=dict(a.labels),
            annotations=dict(a.annotations),
            starts_at=claimed_time(a.startsAt) or now,
            ends_at=ends,
            generator_url=a.generatorURL,
        )
        out.append(clamp(alert, now, bounds))
    return out
