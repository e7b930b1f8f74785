"""Form posts of the incident page. Each checks the session's CSRF token, the role (as the API's
``require_role``), then calls the same flow the API route calls, inside one transaction.

Success redirects back to the incident page (post/redirect/get); a refused action re-renders the
page with the reason and the API's status code. Plain forms: they work without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from opsbook.api.auth import Principal, state_of
from opsbook.core.errors import InputError, OpsbookError
from opsbook.flows import incidents as flows
from opsbook.flows import steps as step_flows
from opsbook.incidents.models import Severity
from opsbook.storage import repos
from opsbook.storage.db import translate_errors
from opsbook.web.auth import CsrfRejected, check_csrf, read_form, require, signed_in
from opsbook.web.pages import dry_run_text, render_incident, status_of, to_login
from opsbook.web.render import page

router = APIRouter()
Form = dict[str, str]


class Refusal(str):
    """What an action says when it committed a refusal (a request closed as changed or
    expired): shown as an error with 409, as the API answers."""


Act = Callable[[Session, Principal, Form, datetime], str | None]
MINIMUM = {
    "acknowledge": "responder",
    "comment": "responder",
    "resolve": "commander",
    "close": "commander",
    "severity": "commander",
    "command": "commander",
    "run": "responder",
    "dry-run": "responder",
    "approve": "responder",
    "reject": "responder",
    "break-glass": "commander",
}


def _text(form: Form, key: str, limit: int = 10000) -> str:
    value = form.get(key, "").strip()
    if len(value) > limit:
        raise InputError(f"{key} is longer than {limit} characters", field=key)
    return value


def _variables(form: Form) -> dict[str, str]:
    """``var.NAME`` fields → {NAME: value}, blanks left out (the flow names what is missing)."""
    return {k[4:]: v for k, v in form.items() if k.startswith("var.") and v.strip()}


def _step_of(form: Form) -> int | None:
    """The step a run form belongs to (only ever used to come back to its anchor)."""
    raw = form.get("step", "")
    return int(raw) if raw.isdigit() and len(raw) <= 6 else None


async def _act(
    request: Request, incident_id: str, action: str, fn: Act, step: int | None = None
) -> Response:
    """Session, CSRF, role, one transaction, then redirect back (or the page with the error).

    A step's action (``step`` set, or the form's ``step`` field) comes back to that step: HTMX
    gets the steps section with the outcome inside the step (the page keeps its place); without
    JavaScript the redirect goes to ``#step-N``."""
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    form = await read_form(request)
    try:
        check_csrf(who, form)
    except CsrfRejected:
        return page("forbidden.html", {"who": who}, status=403)
    st = state_of(request)
    step = step if step is not None else _step_of(form)
    hx = step is not None and bool(request.headers.get("hx-request"))

    def run() -> str | None:
        p = require(who, MINIMUM[action])
        with translate_errors(), st.sessions.begin() as s:
            return fn(s, p, form, st.clock.now())

    def again(text: str, error: bool, code: int) -> Response:
        msg = {"index": step, "text": text, "error": error} if step is not None else None
        if hx:  # HTMX swaps only 2xx: the outcome is inside the step it belongs to
            return render_incident(request, who, iid, template="_steps.html", step_msg=msg)
        return render_incident(
            request, who, iid, status=code, step_msg=msg,
            **({"error": text} if error else {"notice": text}),
        )  # fmt: skip

    iid = incident_id[:64]
    try:
        notice = await run_in_threadpool(run)
    except OpsbookError as exc:
        detail, code = exc.detail, status_of(exc)
        return await run_in_threadpool(again, detail, True, code)
    if isinstance(notice, Refusal):
        return await run_in_threadpool(again, str(notice), True, 409)
    if notice:
        return await run_in_threadpool(again, notice, False, 200)
    if hx:  # done: the step's old message goes
        cleared = {"index": step, "text": "", "error": False}
        return await run_in_threadpool(
            lambda: render_incident(request, who, iid, template="_steps.html", step_msg=cleared)
        )
    anchor = f"#step-{step}" if step is not None else ""
    return RedirectResponse(f"/ui/incidents/{iid}{anchor}", status_code=303)


@router.post("/incidents/{incident_id}/acknowledge")
async def acknowledge(request: Request, incident_id: str) -> Response:
    def act(s: Session, p: Principal, form: Form, now: datetime) -> None:
        flows.acknowledge(s, p.tenant, incident_id, p.actor, now)

    return await _act(request, incident_id, "acknowledge", act)


@router.post("/incidents/{incident_id}/resolve")
async def resolve(request: Request, incident_id: str) -> Response:
    cfg = state_of(request).config

    def act(s: Session, p: Principal, form: Form, now: datetime) -> None:
        flows.resolve(s, p.tenant, incident_id, p.actor, now, _text(form, "note"), cfg)

    return await _act(request, incident_id, "resolve", act)


@router.post("/incidents/{incident_id}/close")
async def close(request: Request, incident_id: str) -> Response:
    def act(s: Session, p: Principal, form: Form, now: datetime) -> None:
        reason = form.get("reason", "resolved")
        flows.close(s, p.tenant, incident_id, p.actor, now, reason, _text(form, "note"))

    return await _act(request, incident_id, "close", act)


@router.post("/incidents/{incident_id}/comment")
async def comment(request: Request, incident_id: str) -> Response:
    def act(s: Session, p: Principal, form: Form, now: datetime) -> None:
        text = _text(form, "text")
        if not text:
            raise InputError("write a comment first", field="text")
        flows.comment(s, p.tenant, incident_id, p.actor, now, text)

    return await _act(request, incident_id, "comment", act)


@router.post("/incidents/{incident_id}/severity")
async def severity(request: Request, incident_id: str) -> Response:
    cfg = state_of(request).config

    def act(s: Session, p: Principal, form: Form, now: datetime) -> None:
        try:
            sev = Severity(form.get("severity", ""))
        except ValueError:
            raise InputError("choose a severity P0–P3", field="severity") from None
        flows.update(s, cfg, p.tenant, incident_id, p.actor, now, severity=sev)

    return await _act(request, incident_id, "severity", act)


@router.post("/incidents/{incident_id}/command")
async def take_command(request: Request, incident_id: str) -> Response:
    """The signed-in person becomes incident commander (they must be a user in opsbook.yaml)."""
    cfg = state_of(request).config

    def act(s: Session, p: Principal, form: Form, now: datetime) -> None:
        flows.update(s, cfg, p.tenant, incident_id, p.actor, now, commander=p.name)

    return await _act(request, incident_id, "command", act)


@router.post("/incidents/{incident_id}/steps/{step}/{verb}")
async def step_action(request: Request, incident_id: str, step: int, verb: str) -> Response:
    """``run`` or ``dry-run`` step ``step`` of the incident's section; ``approve=1`` (the "Run now
    (approve my own request)" button) asks for self-approval at once."""
    st = state_of(request)
    if verb not in ("run", "dry-run"):
        return Response("not found", status_code=404, media_type="text/plain")

    if verb == "dry-run" and not request.headers.get("hx-request"):
        return await _dry_run_back(request, incident_id[:64], step)

    def act(s: Session, p: Principal, form: Form, now: datetime) -> str | None:
        role = p.role or "viewer"
        if verb == "dry-run":
            inc = repos.get_incident(s, p.tenant, incident_id)
            d = step_flows.dry_run(st.config, st.catalog, inc, step, _variables(form))
            return dry_run_text(d, step)
        step_flows.request_run(
            s, st.config, st.catalog, p.tenant, incident_id, step, actor=p.actor, role=role,
            variables=_variables(form), now=now, confirmation=form.get("confirmation") or None,
            approve=form.get("approve") == "1",
        )  # fmt: skip
        return None

    return await _act(request, incident_id, verb, act, step)


async def _dry_run_back(request: Request, iid: str, step: int) -> Response:
    """Without JavaScript a dry run goes back to its step: the incident page with
    ``?dry_run=N`` and the typed values, which shows the dry run (it changes nothing) there."""
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    form = await read_form(request)
    try:
        check_csrf(who, form)
    except CsrfRejected:
        return page("forbidden.html", {"who": who}, status=403)
    query = urlencode({"dry_run": step, **{f"var.{k}": v for k, v in _variables(form).items()}})
    return RedirectResponse(f"/ui/incidents/{iid}?{query}#step-{step}", status_code=303)


@router.post("/incidents/{incident_id}/runs/{run_id}/{verb}")
async def run_action(request: Request, incident_id: str, run_id: str, verb: str) -> Response:
    """``approve``, ``reject`` or ``break-glass`` the run request ``run_id`` shown on the page:
    the form carries that request's ``shown_hash``, so it approves exactly what was on screen."""
    st = state_of(request)
    if verb not in ("approve", "reject", "break-glass"):
        return Response("not found", status_code=404, media_type="text/plain")
    rid = run_id[:64]

    def act(s: Session, p: Principal, form: Form, now: datetime) -> str | None:
        role = p.role or "viewer"
        if verb == "reject":
            step_flows.reject(
                s, p.tenant, incident_id, rid, actor=p.actor, role=role, now=now,
                comment=_text(form, "comment", 2000),
            )  # fmt: skip
            return None
        shown_hash = _text(form, "shown_hash", 64)
        confirmation = form.get("confirmation") or None
        if verb == "break-glass":
            run = step_flows.break_glass(
                s, st.config, st.settings, st.catalog, p.tenant, incident_id, rid,
                actor=p.actor, role=role, now=now, reason=_text(form, "reason", 2000),
                shown_hash=shown_hash, confirmation=confirmation,
            )  # fmt: skip
        else:
            run = step_flows.approve(
                s, st.config, st.catalog, p.tenant, incident_id, rid, actor=p.actor, role=role,
                now=now, shown_hash=shown_hash, confirmation=confirmation,
                comment=_text(form, "comment", 2000), self_approve=form.get("self_approve") == "1",
            )  # fmt: skip
        if run.status in ("expired", "changed"):  # the closed request is kept, as in the API
            return Refusal(
                f"Not approved: request {run.id} is {run.status}"
                + (" — what you approved is not what would run" if run.status == "changed" else "")
                + "; request the step again."
            )
        return None

    return await _act(request, incident_id, verb, act)
