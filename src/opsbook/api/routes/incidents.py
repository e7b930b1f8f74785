"""Incidents API: list, show, declare, acknowledge, resolve, close, comment, change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Depends, Query, Request
from sqlalchemy.orm import Session

from opsbook.api.auth import Principal, require_role, state_of
from opsbook.api.schemas import (
    CloseIn,
    CommentIn,
    DeclareIn,
    IncidentDetail,
    IncidentOut,
    IncidentPage,
    IncidentPatch,
    ResolveIn,
)
from opsbook.flows import incidents as flows
from opsbook.incidents.models import Severity, Status
from opsbook.runbooks.export import section_dict
from opsbook.storage import repos
from opsbook.storage.db import translate_errors
from opsbook.storage.tables import Incident

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
T = TypeVar("T")
IncidentId = Annotated[str, Query(max_length=64)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or unknown token"},
    403: {"description": "role too low"},
    404: {"description": "no such incident in this tenant"},
}


def _tx(request: Request, fn: Callable[[Session], T]) -> T:
    with translate_errors(), state_of(request).sessions.begin() as s:
        return fn(s)


def _section(request: Request, inc: Incident) -> dict[str, Any] | None:
    """The matched section as it reads now, from the loaded catalog (None if it is gone)."""
    if inc.runbook_id is None or inc.section_id is None:
        return None
    rb = state_of(request).catalog.get(inc.tenant, inc.runbook_id)
    section = rb.section(inc.section_id) if rb else None
    return section_dict(section) if section else None


def _detail(request: Request, s: Session, inc: Incident) -> IncidentDetail:
    s.flush()
    now = state_of(request).clock.now()
    alerts, entries = (
        repos.incident_alerts(s, inc.tenant, inc.id),
        repos.timeline(s, inc.tenant, inc.id),
    )
    return IncidentDetail.full(inc, alerts, entries, now, _section(request, inc))


@router.get("", response_model=IncidentPage, responses=_ERRORS)
def list_incidents(
    request: Request,
    status: Annotated[
        list[Status] | None, Query(description="repeat to combine; default: all")
    ] = None,
    severity: Annotated[list[Severity] | None, Query()] = None,
    service: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    p: Principal = Depends(require_role("viewer")),
) -> IncidentPage:
    """Open incidents first, then by severity and age."""
    now = state_of(request).clock.now()

    def run(s: Session) -> IncidentPage:
        rows, total = repos.list_incidents(
            s,
            p.tenant,
            statuses=[x.value for x in status or []],
            severities=[x.value for x in severity or []],
            service=service,
            limit=limit,
            offset=offset,
        )
        return IncidentPage(
            items=[IncidentOut.of(r, now) for r in rows], total=total, limit=limit, offset=offset
        )

    return _tx(request, run)


@router.post("", response_model=IncidentDetail, status_code=201, responses=_ERRORS)
def declare_incident(
    request: Request, body: DeclareIn, p: Principal = Depends(require_role("responder"))
) -> IncidentDetail:
    """Declare an incident by hand (no alert behind it)."""
    st = state_of(request)
    return _tx(
        request,
        lambda s: _detail(
            request,
            s,
            flows.declare(
                s,
                st.config,
                p.tenant,
                p.actor,
                st.clock.now(),
                service=body.service,
                severity=body.severity,
                title=body.title,
                commander=body.commander,
            ),
        ),
    )


@router.get("/{incident_id}", response_model=IncidentDetail, responses=_ERRORS)
def get_incident(
    request: Request, incident_id: str, p: Principal = Depends(require_role("viewer"))
) -> IncidentDetail:
    """One incident with its alerts and timeline."""
    return _tx(request, lambda s: _detail(request, s, repos.get_incident(s, p.tenant, incident_id)))


@router.post(
    "/{incident_id}/acknowledge",
    response_model=IncidentDetail,
    responses={**_ERRORS, 409: {"description": "not triggered"}},
)
def acknowledge(
    request: Request, incident_id: str, p: Principal = Depends(require_role("responder"))
) -> IncidentDetail:
    now = state_of(request).clock.now()
    return _tx(
        request,
        lambda s: _detail(request, s, flows.acknowledge(s, p.tenant, incident_id, p.actor, now)),
    )


@router.post(
    "/{incident_id}/resolve",
    response_model=IncidentDetail,
    responses={**_ERRORS, 409: {"description": "not open"}},
)
def resolve(
    request: Request,
    incident_id: str,
    body: Annotated[ResolveIn | None, Body()] = None,
    p: Principal = Depends(require_role("commander")),
) -> IncidentDetail:
    now = state_of(request).clock.now()
    note = body.note if body else ""
    return _tx(
        request,
        lambda s: _detail(
            request,
            s,
            flows.resolve(s, p.tenant, incident_id, p.actor, now, note, state_of(request).config),
        ),
    )


@router.post(
    "/{incident_id}/close",
    response_model=IncidentDetail,
    responses={**_ERRORS, 409: {"description": "already closed"}},
)
def close(
    request: Request,
    incident_id: str,
    body: Annotated[CloseIn | None, Body()] = None,
    p: Principal = Depends(require_role("commander")),
) -> IncidentDetail:
    """Close with a reason (`false_positive` counts against the alert's accuracy)."""
    now = state_of(request).clock.now()
    b = body or CloseIn()
    return _tx(
        request,
        lambda s: _detail(
            request,
            s,
            flows.close(
                s, p.tenant, incident_id, p.actor, now, b.reason, b.note, state_of(request).config
            ),
        ),
    )


@router.post(
    "/{incident_id}/comment", response_model=IncidentDetail, status_code=201, responses=_ERRORS
)
def comment(
    request: Request,
    incident_id: str,
    body: CommentIn,
    p: Principal = Depends(require_role("responder")),
) -> IncidentDetail:
    now = state_of(request).clock.now()
    return _tx(
        request,
        lambda s: _detail(
            request, s, flows.comment(s, p.tenant, incident_id, p.actor, now, body.text)
        ),
    )


@router.patch("/{incident_id}", response_model=IncidentDetail, responses=_ERRORS)
def patch_incident(
    request: Request,
    incident_id: str,
    body: IncidentPatch,
    p: Principal = Depends(require_role("commander")),
) -> IncidentDetail:
    """Change severity and/or assign the incident commander."""
    st = state_of(request)
    return _tx(
        request,
        lambda s: _detail(
            request,
            s,
            flows.update(
                s,
                st.config,
                p.tenant,
                incident_id,
                p.actor,
                st.clock.now(),
                severity=body.severity,
                commander=body.commander,
            ),
        ),
    )
