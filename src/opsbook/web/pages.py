"""Shared plumbing of UI handlers: the sign-in guard, error pages and the incident page render."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from opsbook.api.auth import state_of
from opsbook.api.problems import STATUS
from opsbook.api.schemas import IncidentDetail
from opsbook.core.errors import OpsbookError
from opsbook.incidents.models import CLOSE_REASONS
from opsbook.storage import repos
from opsbook.storage.db import translate_errors
from opsbook.web.auth import may
from opsbook.web.render import page
from opsbook.web.sessions import SignedIn
from opsbook.web.views import SEVERITIES, phases

LIVE_RUN = ("queued", "running")


def to_login(request: Request) -> Response:
    """Send a signed-out browser to the sign-in page (HTMX polls get ``HX-Redirect`` instead of a
    login form swapped into a table)."""
    if request.headers.get("hx-request"):
        return Response(status_code=200, headers={"HX-Redirect": "/ui/login"})
    return RedirectResponse("/ui/login", status_code=303)


def status_of(exc: OpsbookError) -> int:
    """The HTTP status the API gives this error (one mapping, in api/problems.py)."""
    return next((code for kind, code in STATUS if isinstance(exc, kind)), 500)


def error_page(request: Request, who: SignedIn | None, exc: OpsbookError) -> Response:
    code = status_of(exc)
    return page(
        "error.html",
        {"who": who, "title": exc.title, "detail": exc.detail, "code": code},
        status=code,
    )


def base(who: SignedIn) -> dict[str, Any]:
    """What every signed-in page needs: the person, their CSRF token and what they may do."""
    return {
        "who": who,
        "csrf": who.csrf,
        "can_respond": may(who, "responder"),
        "can_command": may(who, "commander"),
    }


def incident_context(
    request: Request, s: Session, who: SignedIn, incident_id: str
) -> dict[str, Any]:
    """Everything the incident page and its live fragments show, scoped to the user's tenant."""
    st = state_of(request)
    now = st.clock.now()
    inc = repos.get_incident(s, who.tenant, incident_id)  # NotFound for another tenant's id
    detail = IncidentDetail.full(
        inc,
        repos.incident_alerts(s, inc.tenant, inc.id),
        repos.timeline(s, inc.tenant, inc.id),
        now,
    )
    heading, groups = phases(s, st.config, st.catalog, inc)
    runs = [v.last_run for g in groups for v in g.steps if v.last_run is not None]
    awaited = (  # diagnostics that run by themselves right after an incident opens
        inc.status == "triggered"
        and (now - inc.created_at).total_seconds() < 120
        and any(
            v.safety == "read-only" and v.last_run is None
            for g in groups
            for v in g.steps
            if v.executable
        )
    )
    live = awaited or any(r.status in LIVE_RUN for r in runs)
    users = sorted(u.name for u in st.config.users if u.tenant == who.tenant)
    return {
        **base(who),
        "inc": detail,
        "is_open": inc.status in ("triggered", "acknowledged"),
        "ack_left": (inc.ack_deadline - now).total_seconds(),
        "section_heading": heading,
        "phases": groups,
        "live_steps": live,
        "severities": SEVERITIES,
        "close_reasons": CLOSE_REASONS,
        "users": users,
        "is_known_user": who.name in users,
    }


def render_incident(
    request: Request,
    who: SignedIn,
    incident_id: str,
    *,
    template: str = "incident.html",
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    """The incident page (or one of its fragments), with an optional error or notice banner."""
    try:
        with translate_errors(), state_of(request).sessions() as s:
            ctx = incident_context(request, s, who, incident_id)
    except OpsbookError as exc:
        return error_page(request, who, exc)
    return page(template, {**ctx, "error": error, "notice": notice}, status=status)
