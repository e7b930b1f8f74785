"""Reports API: MTTA, MTTD, MTTR, breaches, false positives, runbook accuracy and noisy alerts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.api.auth import Principal, require_role, state_of
from opsbook.api.params import since_until
from opsbook.flows.reports import tenant_report
from opsbook.incidents.models import Severity
from opsbook.reports.models import Period
from opsbook.storage.db import translate_errors
from opsbook.storage.tables import Incident

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


@router.get(
    "",
    responses={
        401: {"description": "missing or unknown token"},
        422: {"description": "bad since/until (a duration of 1m…5y, times 2000…now+10y)"},
    },
)
def get_report(
    request: Request,
    since: Annotated[
        str,
        Query(max_length=64, description="a duration back from `until` (30d, 12h) or an ISO time"),
    ] = "30d",
    until: Annotated[str | None, Query(max_length=64, description="ISO time; default now")] = None,
    service: Annotated[str | None, Query(max_length=128)] = None,
    severity: Annotated[Severity | None, Query()] = None,
    include_drills: Annotated[
        bool, Query(description="count drill (rehearsal) incidents too; default left out")
    ] = False,
    p: Principal = Depends(require_role("viewer")),
) -> dict[str, Any]:
    """The tenant's figures for incidents opened in [since, until), overall, per service and per
    severity, each section's accuracy, the noisiest alerts, and the targets met or missed.
    Times are seconds; rates are 0–1 (null when there is nothing to count). Drill incidents are
    left out unless ``include_drills``."""
    st = state_of(request)
    now = st.clock.now()
    period = Period(*since_until(since, until, now))
    with translate_errors(), st.sessions() as s:
        report = tenant_report(
            s,
            p.tenant,
            period,
            now,
            service=service,
            severity=severity.value if severity else None,
            include_drills=include_drills,
        ).to_dict()
        paths = _runbook_paths(s, p.tenant, {x["runbook_id"] for x in report["sections"]})
    for x in report["sections"]:  # people know a runbook by its file, not its id
        x["runbook_path"] = paths.get(x["runbook_id"])
    return {"tenant": p.tenant, **report}


def _runbook_paths(s: Session, tenant: str, ids: set[str]) -> dict[str, str]:
    """The file path each runbook id was matched under (as the incidents recorded it)."""
    if not ids:
        return {}
    rows = s.execute(
        select(Incident.runbook_id, Incident.runbook_path)
        .where(Incident.tenant == tenant, Incident.runbook_id.in_(ids))
        .distinct()
    )
    return {rid: path for rid, path in rows if rid and path}
