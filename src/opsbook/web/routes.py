"""The web UI's pages under ``/ui``: sign-in and sign-out, incidents, one incident, static files.

Actions (acknowledge, resolve, run a step, …) are in ``web/actions.py``; this router includes it.
Every page but sign-in needs a live session; without one it redirects to ``/ui/login``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response

from opsbook.api.auth import state_of
from opsbook.core.errors import OpsbookError
from opsbook.flows import audit
from opsbook.storage import repos
from opsbook.storage.db import translate_errors
from opsbook.web import actions, backlog_pages, incident_extras
from opsbook.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    clear_session_cookie,
    login_token,
    read_form,
    same_token,
    set_login_cookie,
    set_session_cookie,
    signed_in,
)
from opsbook.web.inbox_pages import router as inbox_router
from opsbook.web.oncall_pages import router as oncall_router
from opsbook.web.pages import base, error_page, render_incident, to_login
from opsbook.web.render import STATIC_UI, page
from opsbook.web.reports_pages import router as reports_router
from opsbook.web.rollouts_pages import router as rollouts_router
from opsbook.web.runbooks_pages import router as runbooks_router
from opsbook.web.sessions import check_password, close_session, open_session
from opsbook.web.silences_pages import router as silences_router
from opsbook.web.views import SEVERITIES, STATUSES, Row

router = APIRouter(prefix="/ui", include_in_schema=False)
router.include_router(actions.router)
router.include_router(silences_router)
router.include_router(reports_router)
router.include_router(incident_extras.router)  # before /incidents/{id}/{part}
router.include_router(runbooks_router)
router.include_router(oncall_router)
router.include_router(rollouts_router)
router.include_router(backlog_pages.router)
router.include_router(inbox_router)

STATIC = {
    "htmx.min.js": "text/javascript",
    "app.js": "text/javascript",
    "inbox.js": "text/javascript",
    "app.css": "text/css",
}


@router.get("/static/{name}")
def static(name: str) -> Response:
    """The UI's own files (a fixed list; nothing else under the package is reachable)."""
    if name not in STATIC:
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(
        STATIC_UI / name,
        media_type=STATIC[name],
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


def _login_page(
    request: Request, login_name: str = "", error: str | None = None, status: int = 200
) -> Response:
    token = login_token(request)
    resp = page(
        "login.html",
        {"who": None, "error": error, "login": login_name, "csrf": token},
        status=status,
    )
    set_login_cookie(request, resp, token)
    return resp


@router.get("/login")
async def login_form(request: Request) -> Response:
    if await signed_in(request):
        return RedirectResponse("/ui/", status_code=303)
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the password; on success a new session (fresh id, no fixation) and the incidents page."""
    form = await read_form(request)
    login_name = form.get("login", "")[:200]
    if not same_token(request.cookies.get(LOGIN_CSRF_COOKIE, ""), form.get("csrf", "")):
        return page("forbidden.html", {"who": None}, status=403)
    st = state_of(request)

    def attempt() -> tuple[str, str] | None:
        with translate_errors(), st.sessions.begin() as s:
            user = check_password(
                s, login_name, form.get("password", ""), st.config, st.clock.now()
            )
            if user is None:
                audit.signin_failed(s, login_name, st.clock.now())
                return None
            secret, who = open_session(s, user, st.clock.now())
            audit.record(
                s, at=st.clock.now(), tenant=user.tenant, action="signin.succeeded",
                actor=user.name, target=f"session:{who.session_id[:12]}",
            )  # fmt: skip
            return secret, who.name

    try:
        done = await run_in_threadpool(attempt)
    except OpsbookError as exc:
        return error_page(request, None, exc)
    if done is None:
        return _login_page(request, login_name, "Wrong name or password.", status=401)
    out = RedirectResponse("/ui/", status_code=303)
    set_session_cookie(request, out, done[0])
    out.delete_cookie(LOGIN_CSRF_COOKIE, path="/ui")
    return out


@router.post("/logout")
async def logout(request: Request) -> Response:
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    check_csrf(who, await read_form(request))
    st = state_of(request)

    def end() -> None:
        with translate_errors(), st.sessions.begin() as s:
            close_session(s, request.cookies.get(SESSION_COOKIE, ""))

    await run_in_threadpool(end)
    out = RedirectResponse("/ui/login", status_code=303)
    clear_session_cookie(request, out)
    return out


def _filters(request: Request) -> dict[str, str]:
    q = request.query_params
    return {
        "status": q.get("status", "") if q.get("status", "") in (*STATUSES, "open") else "",
        "severity": q.get("severity", "") if q.get("severity", "") in SEVERITIES else "",
        "service": q.get("service", "")[:128],
    }


async def _incidents(request: Request, template: str) -> Response:
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    st = state_of(request)
    f = _filters(request)
    statuses = ["triggered", "acknowledged"] if f["status"] == "open" else [f["status"]]

    def load() -> tuple[list[Row], int]:
        now = st.clock.now()
        with translate_errors(), st.sessions() as s:
            rows, total = repos.list_incidents(
                s,
                who.tenant,
                statuses=[x for x in statuses if x],
                severities=[f["severity"]] if f["severity"] else [],
                service=f["service"] or None,
                limit=200,
            )
            return [Row.of(r, now) for r in rows], total

    try:
        rows, total = await run_in_threadpool(load)
    except OpsbookError as exc:
        return error_page(request, who, exc)
    services = sorted(x.name for x in st.config.services if x.tenant == who.tenant)
    ctx = {
        **base(who),
        "rows": rows,
        "total": total,
        "filters": f,
        "query": urlencode({k: v for k, v in f.items() if v}),
        "statuses": STATUSES,
        "severities": SEVERITIES,
        "services": services,
    }
    return page(template, ctx)


@router.get("/")
async def incidents_page(request: Request) -> Response:
    """Open incidents first, by severity; filters; the table refreshes itself every 5 s."""
    return await _incidents(request, "incidents.html")


@router.get("/incidents/rows")
async def incidents_rows(request: Request) -> Response:
    """The incidents table alone, for HTMX polling."""
    return await _incidents(request, "_incident_rows.html")


@router.get("/incidents/{incident_id}")
async def incident_page(request: Request, incident_id: str) -> Response:
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    return await run_in_threadpool(render_incident, request, who, incident_id[:64])


@router.get("/incidents/{incident_id}/{part}")
async def incident_part(request: Request, incident_id: str, part: str) -> Response:
    """A live fragment of the incident page for HTMX polling: ``timeline`` or ``steps``."""
    if part not in ("timeline", "steps"):
        return Response("not found", status_code=404, media_type="text/plain")
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    return await run_in_threadpool(
        lambda: render_incident(request, who, incident_id[:64], template=f"_{part}.html")
    )
