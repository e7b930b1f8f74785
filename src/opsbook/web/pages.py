"""Shared plumbing of UI handlers: the sign-in guard, error pages and the incident page render."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from opsbook.api.auth import state_of
from opsbook.api.problems import STATUS
from opsbook.api.routes import incidents as incident_api
from opsbook.api.schemas import IncidentDetail
from opsbook.core.errors import OpsbookError
from opsbook.flows import postmortems as pm_flows
from opsbook.flows import statuspage as status_flows
from opsbook.flows import steps as step_flows
from opsbook.incidents.models import CLOSE_REASONS
from opsbook.storage import repos
from opsbook.storage.db import translate_errors
from opsbook.web import incident_summary as glance
from opsbook.web.auth import may
from opsbook.web.render import page
from opsbook.web.sessions import SignedIn
from opsbook.web.views import SEVERITIES, phases

LIVE_RUN = ("queued", "running")
COMPOSER_TEMPLATES = ("investigating", "identified", "monitoring", "resolved")


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
    alerts, alerts_cursor = repos.alerts_page(s, inc.tenant, inc.id, incident_api.ALERTS_PAGE)
    entries, _ = repos.timeline_page(s, inc.tenant, inc.id, incident_api.TIMELINE_PAGE)
    detail = IncidentDetail.full(  # first pages only: an incident may hold a million alerts
        inc,
        alerts,
        entries,
        now,
        alerts_next=incident_api.next_link(inc, "alerts", alerts_cursor, incident_api.ALERTS_PAGE),
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
    summary, description = glance.summary(detail.alerts)
    return {
        **base(who),
        "now": now,
        "glance": {"summary": summary, "description": description},
        "paging": None,  # the page and the timeline poll fill it (render_incident)
        "alert_links": glance.alert_links,
        "max_alerts": glance.MAX_ALERTS,
        "step_msg": None,
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
    step_msg: dict[str, Any] | None = None,
) -> Response:
    """The incident page (or one of its fragments), with an optional error or notice banner.

    The whole page also carries the status-update composer (``?template=`` picks its template
    without JavaScript) and, once the incident is resolved, the post-mortem's state.
    ``step_msg`` ({"index", "text", "error"}) shows an action's outcome inside its step; a
    ``?dry_run=N`` query (the no-JavaScript way back from a dry run) computes it here.
    """
    try:
        with translate_errors(), state_of(request).sessions() as s:
            ctx = incident_context(request, s, who, incident_id)
            ctx["oob"] = template == "_timeline.html"
            if template in ("incident.html", "_timeline.html"):
                st = state_of(request)
                inc_row = repos.get_incident(s, who.tenant, ctx["inc"].id)
                ctx["paging"] = glance.paging(
                    s, st.config, inc_row, ctx["inc"].timeline, ctx["now"]
                )
            ctx["step_msg"] = step_msg or dry_run_from_query(request, ctx["inc"].id, s, who)
            if template == "incident.html":
                chosen = request.query_params.get("template", "")
                inc = ctx["inc"]
                ctx["composer"] = composer_context(request, s, who, inc.id, inc.status, chosen)
                ctx["impact"] = glance.impact(
                    s, state_of(request).config, repos.get_incident(s, who.tenant, inc.id),
                    ctx["composer"]["updates"], state_of(request).clock.now(),
                )  # fmt: skip
                ctx["postmortem"] = postmortem_summary(request, s, who, ctx["inc"])
    except OpsbookError as exc:
        return error_page(request, who, exc)
    return page(template, {**ctx, "error": error, "notice": notice}, status=status)


def default_template(status: str) -> str:
    """The composer's template for an incident state: what a commander most likely says next."""
    return {"triggered": "investigating", "acknowledged": "identified"}.get(status, "resolved")


def composer_context(
    request: Request, s: Session, who: SignedIn, incident_id: str, status: str, chosen: str = ""
) -> dict[str, Any]:
    """The status-update composer: templates, the prefilled draft (commanders only; from
    ``flows.statuspage.draft_update``), the updates already published and the public page.
    ``chosen`` picks the template; otherwise the one that fits the incident's ``status``."""
    st = state_of(request)
    template = chosen if chosen in COMPOSER_TEMPLATES else default_template(status)
    draft = (
        status_flows.draft_update(s, st.config, who.tenant, incident_id, template)
        if may(who, "commander")
        else None
    )
    return {
        "templates": COMPOSER_TEMPLATES,
        "template": template,
        "draft": draft,
        "updates": status_flows.list_updates(s, who.tenant, incident_id),
        "public_url": f"/status/{who.tenant}" if st.config.status_page.enabled else None,
    }


def postmortem_summary(
    request: Request, s: Session, who: SignedIn, inc: IncidentDetail
) -> dict[str, Any] | None:
    """Where the post-mortem stands (None while the incident is open): draft or complete, due."""
    if inc.status not in ("resolved", "closed"):
        return None
    doc = pm_flows.get_postmortem(s, state_of(request).config, who.tenant, inc.id)
    return {
        "exists": doc.exists,
        "status": doc.written.status,
        "required": doc.written.required,
        "due_at": doc.written.due_at,
        "open_items": sum(1 for a in doc.action_items if a.status == "open"),
    }


def dry_run_text(d: dict[str, Any], step: int) -> str:
    """What a dry run says: the command as it would run, where, with which values, who may."""
    shown = "; ".join(f"{v['name']}={v['value']} ({v['source']})" for v in d["variables"])
    return (
        f"Dry run of step {step}: {d['command']} → {d['target']}"
        + (f"; variables: {shown}" if shown else "")
        + f" (needs {d['needs_role'] or 'nobody'})"
    )


def dry_run_from_query(
    request: Request, incident_id: str, s: Session, who: SignedIn
) -> dict[str, Any] | None:
    """``?dry_run=N&var.NAME=…``: the dry run of step N again (it changes nothing), so the page a
    no-JavaScript dry run redirects to shows its result in the step."""
    raw = request.query_params.get("dry_run", "")
    if not raw.isdigit() or not may(who, "responder"):
        return None
    st = state_of(request)
    step = int(raw[:6])
    variables = {
        k[4:]: v[:2000]
        for k, v in request.query_params.items()
        if k.startswith("var.") and v.strip()
    }
    inc = repos.get_incident(s, who.tenant, incident_id)
    try:
        d = step_flows.dry_run(st.config, st.catalog, inc, step, variables)
    except OpsbookError as exc:
        return {"index": step, "text": exc.detail, "error": True}
    return {"index": step, "text": dry_run_text(d, step), "error": False}
