"""The incident page's communication and learning parts: the status-update composer and the
post-mortem editor, under ``/ui/incidents/{id}/…`` (``web/routes.py`` includes this router).

Reads need a session (any role); writes check the session's CSRF token and the role the API
route asks for — commanders publish updates, edit the post-mortem and add action items;
responders mark action items done — then call the same flows inside one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from opsbook.api.auth import Principal, state_of
from opsbook.core.errors import InputError, OpsbookError
from opsbook.flows import postmortems as pm_flows
from opsbook.flows import statuspage as status_flows
from opsbook.postmortem.markdown import to_markdown
from opsbook.statuspage.templates import TEMPLATES
from opsbook.storage import repos
from opsbook.storage.db import translate_errors
from opsbook.web.auth import CsrfRejected, check_csrf, read_form, require, signed_in
from opsbook.web.pages import (
    COMPOSER_TEMPLATES,
    base,
    composer_context,
    error_page,
    render_incident,
    status_of,
    to_login,
)
from opsbook.web.render import SECURITY_HEADERS, STATIC_UI, page
from opsbook.web.sessions import SignedIn

router = APIRouter()
Form = dict[str, str]
Write = Callable[[Session, Principal, Form, datetime], None]
MAX_FACTORS, MAX_FACTOR_LEN = 100, 2_000


# -- helpers ---------------------------------------------------------------------------------------


def _text(form: Form, key: str, limit: int) -> str:
    value = form.get(key, "").replace("\r\n", "\n").strip()
    if len(value) > limit:
        raise InputError(f"{key.replace('_', ' ')} is longer than {limit} characters", field=key)
    return value


def _factors(form: Form) -> list[str]:
    """The contributing-factors textarea: one factor per non-blank line (the API's limits)."""
    lines = [x.strip() for x in form.get("contributing_factors", "").splitlines() if x.strip()]
    if len(lines) > MAX_FACTORS:
        raise InputError(
            f"at most {MAX_FACTORS} contributing factors", field="contributing_factors"
        )
    if any(len(x) > MAX_FACTOR_LEN for x in lines):
        raise InputError(
            f"a contributing factor is longer than {MAX_FACTOR_LEN} characters",
            field="contributing_factors",
        )
    return lines


def _due(form: Form) -> date | None:
    raw = form.get("due_date", "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InputError("write the due date as YYYY-MM-DD", field="due_date") from None


async def _write(
    request: Request,
    incident_id: str,
    minimum: str,
    fn: Write,
    back: str,
    on_error: Callable[[SignedIn, str, int], Response],
) -> Response:
    """Session, CSRF, role, one transaction, then 303 to ``back`` (or ``on_error``'s page)."""
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    form = await read_form(request)
    try:
        check_csrf(who, form)
    except CsrfRejected:
        return page("forbidden.html", {"who": who}, status=403)
    st = state_of(request)

    def run() -> None:
        p = require(who, minimum)
        with translate_errors(), st.sessions.begin() as s:
            fn(s, p, form, st.clock.now())

    try:
        await run_in_threadpool(run)
    except OpsbookError as exc:
        detail, code = exc.detail, status_of(exc)
        return await run_in_threadpool(on_error, who, detail, code)
    return RedirectResponse(back, status_code=303)


# -- status-update composer ------------------------------------------------------------------------


@router.get("/incidents/{incident_id}/status-draft")
async def status_draft(request: Request, incident_id: str) -> Response:
    """The composer prefilled from ``template`` (HTMX swaps it in; commanders only)."""
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    st = state_of(request)
    chosen = request.query_params.get("template", "")

    def load() -> Response:
        try:
            require(who, "commander")
            if chosen not in COMPOSER_TEMPLATES:
                raise InputError(f"choose one of {', '.join(COMPOSER_TEMPLATES)}", field="template")
            with translate_errors(), st.sessions() as s:
                inc = repos.get_incident(s, who.tenant, incident_id[:64])
                ctx: dict[str, Any] = {**base(who), "inc": inc}
                ctx["composer"] = composer_context(request, s, who, inc.id, inc.status, chosen)
        except OpsbookError as exc:
            return error_page(request, who, exc)
        return page("_status_composer.html", ctx)

    return await run_in_threadpool(load)


@router.post("/incidents/{incident_id}/status-updates")
async def post_status_update(request: Request, incident_id: str) -> Response:
    """Publish the composed update on the public page (``flows.statuspage.post_update``)."""
    st = state_of(request)
    iid = incident_id[:64]

    def act(s: Session, p: Principal, form: Form, now: datetime) -> None:
        template = form.get("template", "")
        if template not in COMPOSER_TEMPLATES:
            raise InputError(f"choose one of {', '.join(COMPOSER_TEMPLATES)}", field="template")
        status_flows.post_update(
            s, st.config, p.tenant, iid, p.actor, now,
            status=TEMPLATES[template][0],
            title=_text(form, "title", 300),
            body=_text(form, "body", 10_000),
            components=None,
            impact=None,
        )  # fmt: skip

    def on_error(who: SignedIn, detail: str, code: int) -> Response:
        return render_incident(request, who, iid, error=detail, status=code)

    return await _write(
        request, iid, "commander", act, f"/ui/incidents/{iid}#status-composer", on_error
    )


# -- post-mortem -----------------------------------------------------------------------------------


def render_postmortem(
    request: Request,
    who: SignedIn,
    incident_id: str,
    *,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    """The post-mortem page: the document, and the editor for commanders once resolved."""
    st = state_of(request)
    try:
        with translate_errors(), st.sessions() as s:
            pm = pm_flows.get_postmortem(s, st.config, who.tenant, incident_id)
    except OpsbookError as exc:
        return error_page(request, who, exc)
    ctx = base(who)
    resolved = pm.incident.status in ("resolved", "closed")
    users = sorted(u.name for u in st.config.users if u.tenant == who.tenant)
    return page(
        "postmortem.html",
        {
            **ctx,
            "pm": pm,
            "resolved": resolved,
            "editable": resolved and ctx["can_command"],
            "users": users,
            "error": error,
            "notice": notice,
        },
        status=status,
    )


@router.get("/incidents/{incident_id}/postmortem")
async def postmortem_page(request: Request, incident_id: str) -> Response:
    """The incident's post-mortem (a preview while the incident is open)."""
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    return await run_in_threadpool(render_postmortem, request, who, incident_id[:64])


@router.get("/incidents/{incident_id}/postmortem.md")
async def postmortem_markdown(request: Request, incident_id: str) -> Response:
    """The Markdown export of ``/api/v1/incidents/{id}/postmortem.md``, with the session."""
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    st = state_of(request)

    def load() -> str:
        with translate_errors(), st.sessions() as s:
            return to_markdown(pm_flows.get_postmortem(s, st.config, who.tenant, incident_id[:64]))

    try:
        text = await run_in_threadpool(load)
    except OpsbookError as exc:
        return error_page(request, who, exc)
    name = f"postmortem-{incident_id[:64]}.md"
    return Response(
        text,
        media_type="text/markdown; charset=utf-8",
        headers={**SECURITY_HEADERS, "Content-Disposition": f'inline; filename="{name}"'},
    )


def _pm_error(request: Request, iid: str) -> Callable[[SignedIn, str, int], Response]:
    def on_error(who: SignedIn, detail: str, code: int) -> Response:
        return render_postmortem(request, who, iid, error=detail, status=code)

    return on_error


def _must_be_resolved(s: Session, tenant: str, incident_id: str) -> None:
    inc = repos.get_incident(s, tenant, incident_id)
    if inc.status not in ("resolved", "closed"):
        raise InputError("resolve the incident before writing its post-mortem", field="status")


@router.post("/incidents/{incident_id}/postmortem")
async def edit_postmortem(request: Request, incident_id: str) -> Response:
    """Save summary, root cause, contributing factors, lessons and status (commanders)."""
    iid = incident_id[:64]

    def act(s: Session, p: Principal, form: Form, now: datetime) -> None:
        _must_be_resolved(s, p.tenant, iid)
        status = form.get("status", "draft")
        if status not in pm_flows.PM_STATUSES:
            raise InputError("status must be draft or complete", field="status")
        changes = {
            "summary": _text(form, "summary", 20_000),
            "root_cause": _text(form, "root_cause", 50_000),
            "contributing_factors": _factors(form),
            "lessons": _text(form, "lessons", 50_000),
            "status": status,
        }
        pm_flows.edit(s, p.tenant, iid, p.actor, now, changes)

    back = f"/ui/incidents/{iid}/postmortem"
    return await _write(request, iid, "commander", act, back, _pm_error(request, iid))


@router.post("/incidents/{incident_id}/postmortem/action-items")
async def add_action_item(request: Request, incident_id: str) -> Response:
    """Add an action item with an owner and a due date (commanders)."""
    iid = incident_id[:64]

    def act(s: Session, p: Principal, form: Form, now: datetime) -> None:
        _must_be_resolved(s, p.tenant, iid)
        title = _text(form, "title", 2_000)
        if not title:
            raise InputError("say what should be done", field="title")
        owner = _text(form, "owner", 128) or None
        pm_flows.add_action_item(
            s, p.tenant, iid, p.actor, now, title=title, owner=owner, due_date=_due(form)
        )

    back = f"/ui/incidents/{iid}/postmortem#pm-items-h"
    return await _write(request, iid, "commander", act, back, _pm_error(request, iid))


@router.post("/incidents/{incident_id}/postmortem/action-items/{item_id}")
async def update_action_item(request: Request, incident_id: str, item_id: str) -> Response:
    """Mark an action item done or open it again (responders, as ``PATCH /api/v1/action-items``)."""
    iid = incident_id[:64]

    def act(s: Session, p: Principal, form: Form, now: datetime) -> None:
        repos.get_incident(s, p.tenant, iid)
        status = form.get("status", "")
        if status not in pm_flows.ITEM_STATUSES:
            raise InputError("status must be open or done", field="status")
        pm_flows.update_action_item(s, p.tenant, item_id[:64], now, {"status": status})

    back = f"/ui/incidents/{iid}/postmortem#pm-items-h"
    return await _write(request, iid, "responder", act, back, _pm_error(request, iid))


# -- the stylesheet of these parts -----------------------------------------------------------------

CSS = """/* the incident page's composer, post-mortem editor, step-result charts and run requests */
.composer, .pm-editor, .pm-item { display: grid; gap: .3rem; max-width: 48rem; margin: .5rem 0 1rem; }
.composer label, .pm-editor label, .pm-item label { font-weight: 600; margin-top: .35rem; }
.composer button, .pm-editor button, .pm-item button { justify-self: start; margin-top: .5rem; }
.composer-pick { margin: .25rem 0; }
.pm-card { margin: 1rem 0; } .pm-card h2 { margin-top: 0; } .pm-card p { margin: .4rem 0; }
textarea { font: inherit; width: 100%; padding: .4rem .6rem; border: 1px solid #8a93a0;
  border-radius: 6px; background: #fff; color: #14171c; resize: vertical; }
textarea:focus-visible { outline: 3px solid #0b57d0; outline-offset: 2px; }
.pm-text { white-space: pre-wrap; overflow-wrap: anywhere; }
.pm-facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); gap: .4rem; }
.pm-facts div { background: #fff; border: 1px solid #d9dde3; border-radius: 6px; padding: .3rem .5rem; }
.pm-facts dt { font-size: .8em; color: #5a6270; } .pm-facts dd { margin: 0; overflow-wrap: anywhere; }
.pm-mitigations { padding-left: 1.2rem; } .pm-mitigations li { margin-bottom: .5rem; }
.status-updates .entry { overflow-wrap: anywhere; }
.chart { margin: .4rem 0; }
.chart svg { display: block; width: 100%; max-width: 480px; height: auto; }
.chart figcaption { font-size: .85em; }
.chart .legend { list-style: none; padding: 0; margin: .2rem 0; display: flex; flex-wrap: wrap; gap: .2rem .8rem; }
.chart .legend svg { display: inline; width: 12px; height: 12px; vertical-align: -1px; }
.chart-title { overflow-wrap: anywhere; }
/* run requests waiting for approval: what will run, exactly, and the decisions on it */
.request { border: 1px solid #8a93a0; border-left: 4px solid #8a5300; border-radius: 6px;
  padding: .5rem .75rem; margin: .6rem 0; background: #fffdf7; }
.request h4 { margin: 0 0 .2rem; font-size: 1em; overflow-wrap: anywhere; }
.request-changed { border-left-color: #b3261e; }
.review { display: grid; grid-template-columns: max-content 1fr; gap: .25rem .75rem; margin: .4rem 0; }
.review dt { font-weight: 600; } .review dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
.argv { margin: .1rem 0; display: flex; flex-wrap: wrap; gap: .25rem; }
.argv .arg { border: 1px solid #8a93a0; border-radius: 4px; padding: 0 .3rem; white-space: pre-wrap; }
.vars td code { white-space: pre-wrap; overflow-wrap: anywhere; }
.vars .source-request td:last-child { font-weight: 600; color: #8a5300; }
.vars .unused td { color: #b3261e; }
button.self-approve { border-style: dashed; }
.break-glass-form { display: grid; gap: .3rem; max-width: 40rem; margin-top: .5rem;
  border-top: 1px dashed #b3261e; padding-top: .4rem; }
.break-glass-form button { justify-self: start; }
button.danger { background: #b3261e; border-color: #b3261e; color: #fff; font-weight: 600; }
.entry.break-glass { background: #fde7e6; border-left: 4px solid #b3261e; padding-left: .4rem; }
.glass-mark { color: #b3261e; text-transform: uppercase; letter-spacing: .04em; }
@media (max-width: 40rem) { .review { grid-template-columns: 1fr; } }
"""


ICONS = ("favicon.svg", "favicon-alert.svg")
root_router = APIRouter(include_in_schema=False)  # outside /ui: what browsers ask for by themselves


def _icon(name: str) -> Response:
    return FileResponse(
        STATIC_UI / name,
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/static/favicon.svg")
def favicon() -> Response:
    """The tab icon; ``favicon-alert.svg`` is the one app.js shows while incidents wait."""
    return _icon("favicon.svg")


@router.get("/static/favicon-alert.svg")
def favicon_alert() -> Response:
    return _icon("favicon-alert.svg")


@root_router.get("/favicon.ico")
def favicon_ico() -> Response:
    """Browsers ask for ``/favicon.ico`` without reading the page: the same SVG."""
    return _icon("favicon.svg")


@router.get("/attention")
async def attention(request: Request) -> Response:
    """How many of the tenant's incidents nobody has acknowledged yet (the title's count and
    the red tab icon; app.js polls this every 15 s)."""
    who = await signed_in(request)
    if who is None:
        return Response(status_code=401, headers={"Cache-Control": "no-store"})
    st = state_of(request)

    def count() -> int:
        with translate_errors(), st.sessions() as s:
            return repos.list_incidents(s, who.tenant, statuses=["triggered"], limit=1)[1]

    try:
        n = await run_in_threadpool(count)
    except OpsbookError:
        return Response(status_code=503, headers={"Cache-Control": "no-store"})
    return JSONResponse(
        {"unacknowledged": n},
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/static/layout.css")
def layout_css() -> Response:
    """The layout sheet (at-a-glance cards, phone layouts); a file next to ``app.css``."""
    return FileResponse(
        STATIC_UI / "layout.css",
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/extras.css")
def extras_css() -> Response:
    """Styles for the composer, the post-mortem editor, charts and run requests (CSP allows 'self' sheets)."""
    return Response(
        CSS,
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
