"""Runbooks API: the tenant's loaded runbooks, their structure and lint findings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from opsbook.api.auth import Principal, require_role, state_of
from opsbook.core.errors import NotFound
from opsbook.runbooks.export import runbook_dict
from opsbook.runbooks.lint import lint

router = APIRouter(prefix="/api/v1/runbooks", tags=["runbooks"])


class RunbookSummary(BaseModel):
    id: str
    path: str
    title: str
    services: list[str]
    sections: int
    alerts: list[str]
    errors: list[str]


class FindingOut(BaseModel):
    line: int
    severity: str
    code: str
    message: str


class RunbookOut(RunbookSummary):
    document: dict[str, Any]
    findings: list[FindingOut]


@router.get("", response_model=list[RunbookSummary])
def list_runbooks(
    request: Request, p: Principal = Depends(require_role("viewer"))
) -> list[RunbookSummary]:
    """Runbooks named by this tenant's services, as loaded at start or the last reload."""
    cat = state_of(request).catalog
    out = []
    for rid in cat.ids_for_tenant(p.tenant):
        rb = cat.runbooks[rid]
        alerts = [a for s in rb.sections for a in s.alerts]
        out.append(
            RunbookSummary(
                id=rid,
                path=rb.path,
                title=rb.title,
                services=cat.services_of(p.tenant, rid),
                sections=len(rb.sections),
                alerts=alerts,
                errors=list(rb.errors),
            )
        )
    return out


@router.get(
    "/{runbook_id}", response_model=RunbookOut, responses={404: {"description": "no such runbook"}}
)
def get_runbook(
    request: Request, runbook_id: str, p: Principal = Depends(require_role("viewer"))
) -> RunbookOut:
    """One runbook in the documented JSON format, with what `opsbook runbooks lint` says of it."""
    st = state_of(request)
    rb = st.catalog.get(p.tenant, runbook_id)
    if rb is None:
        raise NotFound(f"no runbook {runbook_id!r}")
    known = {
        n for s in st.config.services if s.tenant == p.tenant for n in (*s.variables, *s.secrets)
    }
    findings = [
        FindingOut(line=f.line, severity=f.severity, code=f.code, message=f.message)
        for f in lint([rb], known)
    ]
    return RunbookOut(
        id=runbook_id,
        path=rb.path,
        title=rb.title,
        services=st.catalog.services_of(p.tenant, runbook_id),
        sections=len(rb.sections),
        alerts=[a for s in rb.sections for a in s.alerts],
        errors=list(rb.errors),
        document=runbook_dict(rb),
        findings=findings,
    )
