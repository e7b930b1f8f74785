"""Resolve alerts whose ``endsAt`` has passed without a refresh, as Alertmanager does.

Prometheus sends active alerts with ``endsAt`` a few minutes ahead and re-sends them on every
evaluation; if the re-sends stop (the rule vanished, Prometheus died), the alert ends on its own.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.config.models import Config
from opsbook.flows.ingest import IngestBatch, IngestResult, ingest_many
from opsbook.intake.models import AlertIn, EventAction
from opsbook.storage.tables import Alert, Incident


def expire_stale_alerts(
    s: Session, config: Config, now: datetime, limit: int = 1000
) -> list[IngestResult]:
    """Resolve up to ``limit`` firing alerts whose ``ends_at`` is in the past; the caller commits."""
    q = (
        select(Alert)
        .join(Incident, Incident.id == Alert.incident_id)
        .where(
            Alert.status == "firing",
            Alert.ends_at.is_not(None),
            Alert.ends_at < now,
            Incident.open_key.is_not(None),
        )
        .limit(limit)
    )
    batches: dict[tuple[str, str], list[AlertIn]] = defaultdict(list)
    for a in s.scalars(q):
        batches[(a.tenant, a.integration)].append(
            AlertIn(
                source=a.source,
                fingerprint=a.fingerprint,
                action=EventAction.RESOLVE,
                labels=a.labels,
                ends_at=a.ends_at,
            )
        )
    if not batches:
        return []
    return ingest_many(
        s, config, [IngestBatch(t, i, alerts) for (t, i), alerts in batches.items()], now
    )
