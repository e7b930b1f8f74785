"""Incidents API: list, show, declare, acknowledge, resolve, close, comment, change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Depends, Query, Request
from sqlalchemy.orm import Session

from opsbook.api.auth import Principal, require_role, state_of
from opsbook.api.schemas import (
    AlertOut,
    AlertPage,
    CloseIn,
    CommentIn,
    DeclareIn,
    EntryOut,
    EntryPage,
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


ALERTS_PAGE = 100
"""Alerts shown with the incident; more follow page by page (``alerts_next``)."""
TIMELINE_PAGE = 200
"""Timeline entries shown with the incident; more follow page by page (``timeline_next``)."""


def next_link(inc: Incident, part: str, cursor: str | None, limit: int) -> str | None:
    return f"{router.prefix}/{inc.id}/{part}?cursor={cursor}&limit={limit}" if cursor else None


def _detail(request: Request, s: Session, inc: Incident) -> IncidentDetail:
    """The incident with the first page of its alerts and of its timeline, and links to more."""
    s.flush()
    now = state_of(request).clock.now()
    alerts, alerts_cursor = repos.alerts_page(s, inc.tenant, inc.id, ALERTS_PAGE)
    entries, entries_cursor = repos.timeline_page(s, inc.tenant, inc.id, TIMELINE_PAGE)
    return IncidentDetail.full(
        inc,
        alerts,
        entries,
        now,
        _section(request, inc),
        alerts_next=next_link(inc, "alerts", alerts_cursor, ALERTS_PAGE),
        timeline_next=next_link(inc, "timeline", entries_cursor, TIMELINE_PAGE),
    )


@router.get("", response_model=IncidentPage, responses=_ERRORS)
def list_incidents(
    request: Request,
    status: Annotated[
        list[Status] | None, Query(description="repeat to combine; default: all")
    ] = None,
    severity: Annotated[list[Severity] | None, Query()] = None,
    service: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[
        int, Query(ge=0, le=10_000_000, description="rows to skip; prefer `cursor`")
    ] = 0,
    cursor: Annotated[
        str | None, Query(max_length=300, description="from the previous page's `next`")
    ] = None,
    p: Principal = Depends(require_role("viewer")),
) -> IncidentPage:
    """Open incidents first, then by severity and age; ``next`` links the following page."""
    now = state_of(request).clock.now()
    if cursor:
        repos.decode_cursor(cursor)  # a bad one is a 422 naming the field, before any query

    def run(s: Session) -> IncidentPage:
        rows, total, more = repos.incidents_page(
            s,
            p.tenant,
            statuses=[x.value for x in status or []],
            severities=[x.value for x in severity or []],
            service=service,
            limit=limit,
            offset=0 if cursor else offset,
            after=cursor,
        )
        query = [("status", x.value) for x in status or []]
        query += [("severity", x.value) for x in severity or []]
        query += [("service", service)] if service else []
        link = None
        if more:
            link = f"{router.prefix}?" + urlencode([*query, ("limit", limit), ("cursor", more)])
        return IncidentPage(
            items=[IncidentOut.of(r, now) for r in rows],
            total=total,
            limit=limit,
            offset=offset,
            next=link,
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


Cursor = Annotated[
    str | None, Query(max_length=200, description="from the previous page's `next`; omit to start")
]


@router.get("/{incident_id}/alerts", response_model=AlertPage, responses=_ERRORS)
def list_alerts(
    request: Request,
    incident_id: str,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = ALERTS_PAGE,
    p: Principal = Depends(require_role("viewer")),
) -> AlertPage:
    """The incident's alerts, oldest first, one page at a time (keyset: every page is as cheap
    as the first)."""
    after = repos.decode_cursor(cursor) if cursor else None

    def run(s: Session) -> AlertPage:
        inc = repos.get_incident(s, p.tenant, incident_id)
        rows, more = repos.alerts_page(s, p.tenant, inc.id, limit, after)
        return AlertPage(
            items=[AlertOut.of(a) for a in rows], next=next_link(inc, "alerts", more, limit)
        )

    return _tx(request, run)


@router.get("/{incident_id}/timeline", response_model=EntryPage, responses=_ERRORS)
def list_timeline(
    request: Request,
    incident_id: str,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = TIMELINE_PAGE,
    p: Principal = Depends(require_role("viewer")),
) -> EntryPage:
    """The incident's timeline, oldest first, one page at a time."""
    after = repos.decode_cursor(cursor) if cursor else None

    def run(s: Session) -> EntryPage:
        inc = repos.get_incident(s, p.tenant, incident_id)
        rows, more = repos.timeline_page(s, p.tenant, inc.id, limit, after)
        return EntryPage(
            items=[EntryOut.of(e) for e in rows], next=next_link(inc, "timeline", more, limit)
        )

    return _tx(request, run)


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
