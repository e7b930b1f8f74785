"""The drill scorecard: how fast and how well the pipeline answered rehearsed incidents, per
drill, per service and per week, each figure beside its target.

Runs are read once, newest window only (``days``), five narrow columns streamed in batches over
the (tenant, started_at) index, and folded by drills/score.py, so memory follows the number of
drills, services and weeks, never the number of runs.

Definitions (see drills/score.py): a run is decided when passed or failed. MTTD / time to open /
MTTA / MTTR are the mean ``seconds`` from injection of ``alert_fired`` / ``incident_opened`` /
``acknowledged`` / ``resolved`` over decided runs where met, beside the newest ``limit_s``.
Runbook accuracy is the share of decided runs expecting ``runbook_matched`` whose incident
opened on the expected runbook section and, where expected, whose read-only diagnostics passed
(``diagnostics_ok``); target 95 %. The false-positive rate is the share of decided runs whose
alert fired before the fault was injected (negative ``alert_fired`` seconds): the alert was
already firing for another reason, so the drill proved nothing about detection.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.drills.score import Board, RunFacts, fold
from opsbook.storage.tables_drills import DrillRun

BATCH = 1000


@dataclass(frozen=True)
class Scorecard:
    """The scorecard of one tenant's runs started in ``[since, until)``."""

    tenant: str
    since: datetime
    until: datetime
    drill: str | None
    service: str | None
    board: Board

    def to_dict(self) -> dict[str, Any]:
        b = self.board
        return {
            "tenant": self.tenant,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "drill": self.drill,
            "service": self.service,
            "overall": b.overall.to_dict(),
            "drills": {k: v.to_dict() for k, v in sorted(b.drills.items())},
            "services": {k: v.to_dict() for k, v in sorted(b.services.items())},
            "weeks": [
                {"week": k.date().isoformat(), **v.to_dict()} for k, v in sorted(b.weeks.items())
            ],
        }


def _runs(
    s: Session,
    tenant: str,
    since: datetime,
    until: datetime,
    drill: str | None,
    service: str | None,
) -> Iterator[RunFacts]:
    q = (
        select(
            DrillRun.drill,
            DrillRun.service,
            DrillRun.status,
            DrillRun.started_at,
            DrillRun.expectations,
        )
        .where(DrillRun.tenant == tenant, DrillRun.started_at >= since, DrillRun.started_at < until)
        .execution_options(yield_per=BATCH)
    )
    if drill is not None:
        q = q.where(DrillRun.drill == drill)
    if service is not None:
        q = q.where(DrillRun.service == service)
    for row in s.execute(q):
        yield RunFacts(
            drill=row.drill,
            service=row.service,
            status=row.status,
            started_at=row.started_at,
            expectations=tuple(e for e in (row.expectations or ()) if isinstance(e, dict)),
        )


def scorecard(
    session: Session,
    tenant: str,
    *,
    drill: str | None = None,
    service: str | None = None,
    days: int = 90,
    now: datetime,
) -> Scorecard:
    """The scorecard of ``tenant``'s drill runs started in the last ``days`` days before ``now``,
    optionally of one drill or one service."""
    since = now - timedelta(days=days)
    board = fold(_runs(session, tenant, since, now, drill, service))
    return Scorecard(tenant, since, now, drill, service, board)
