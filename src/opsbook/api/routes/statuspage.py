"""Status page: the public page, JSON and Atom per tenant (no login), and the commanders' side —
component overrides and public updates written from templates.

Public routes render only what ``flows.statuspage`` assembles from published text and
component states; HTML goes through Jinja2 with autoescape on, so published text is text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as FastPath
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from opsbook.api.auth import Principal, require_role, state_of
from opsbook.api.params import check_optional_time
from opsbook.core.clock import isoformat
from opsbook.core.errors import InputError, OpsbookError
from opsbook.flows import statuspage as flows
from opsbook.flows import subscriptions
from opsbook.statuspage.derive import uptime_percent
from opsbook.statuspage.feed import atom, summary
from opsbook.statuspage.models import ComponentState, UpdateStatus
from opsbook.statuspage.templates import TEMPLATES
from opsbook.storage.db import translate_errors
from opsbook.storage.tables_comms import StatusUpdateRow

public = APIRouter(tags=["status page"])
router = APIRouter(tags=["status page"])
T = TypeVar("T")
WEB = Path(__file__).resolve().parents[2] / "web"
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or unknown token"},
    403: {"description": "role too low"},
    404: {"description": "no such incident or component in this tenant"},
}
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _tx(request: Request, fn: Callable[[Session], T]) -> T:
    with translate_errors(), state_of(request).sessions.begin() as s:
        return fn(s)


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(WEB / "templates")),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    env.filters["iso"] = isoformat
    env.filters["human"] = lambda t: t.strftime("%Y-%m-%d %H:%M UTC") if t else ""
    env.filters["words"] = lambda v: str(v).replace("_", " ")
    return env


@lru_cache(maxsize=1)
def _css() -> str:
    return (WEB / "static" / "status.css").read_text(encoding="utf-8")


def _page_url(request: Request, tenant: str) -> str:
    return str(request.url_for("status_page", tenant=tenant))


# -- public: no login --------------------------------------------------------------------------


@public.get("/status/{tenant}.json", name="status_json", include_in_schema=True)
def status_json(request: Request, tenant: str) -> JSONResponse:
    """Statuspage-style summary: page, status, components, incidents, scheduled_maintenances."""
    st = state_of(request)
    now = st.clock.now()
    page = _tx(
        request, lambda s: flows.build_page(s, st.config, tenant, now, _page_url(request, tenant))
    )
    return JSONResponse(summary(page), headers={"Cache-Control": "public, max-age=30"})


@public.get("/status/{tenant}/feed.atom", name="status_feed", response_class=Response)
def status_feed(request: Request, tenant: str) -> Response:
    """An Atom feed of the tenant's public incidents and their updates."""
    st = state_of(request)
    now = st.clock.now()

    def run(s: Session) -> bytes:
        page = flows.build_page(s, st.config, tenant, now, _page_url(request, tenant))
        return atom(
            page,
            flows.public_incidents(s, tenant),
            str(request.url_for("status_feed", tenant=tenant)),
        )

    return Response(_tx(request, run), media_type="application/atom+xml; charset=utf-8")


@public.get("/status/{tenant}", name="status_page", response_class=HTMLResponse)
def status_page(request: Request, tenant: str) -> HTMLResponse:
    """The public status page: components, ongoing incidents, maintenance, 90 days of history."""
    return HTMLResponse(_render(request, tenant), headers=_SECURITY_HEADERS)


def _render(request: Request, tenant: str, message: str = "") -> str:
    st = state_of(request)
    now = st.clock.now()

    def run(s: Session) -> str:
        page = flows.build_page(s, st.config, tenant, now, _page_url(request, tenant))
        bars = flows.history(s, st.config, tenant, now)
        return (
            _env()
            .get_template("status/page.html")
            .render(
                page=page,
                past=flows.recent_resolved(s, tenant, now),
                bars=bars,
                uptime={c: uptime_percent(b) for c, b in bars.items()},
                css=_css(),
                message=message,
                feed_url=request.url_for("status_feed", tenant=tenant),
                json_url=request.url_for("status_json", tenant=tenant),
                subscribe_url=request.url_for("status_subscribe", tenant=tenant),
            )
        )

    return _tx(request, run)


@public.post(
    "/status/{tenant}/subscribe",
    name="status_subscribe",
    status_code=202,
    responses={
        404: {"description": "no such status page, or subscriptions are off (no secret key)"},
        422: {"description": "not an email address"},
        429: {"description": "too many requests from this client or for this address"},
    },
)
async def subscribe(request: Request, tenant: str) -> Response:
    """Ask for an email's public updates: a form post (from the page) or ``{"email": …}``.

    Double opt-in: the address is sent a signed link and gets updates only once it is followed.
    The answer is the same for a new, pending or confirmed address. Limited per client address
    and per email address (``OPSBOOK_SUBSCRIBE_PER_CLIENT``/``_PER_ADDRESS`` per
    ``OPSBOOK_SUBSCRIBE_WINDOW`` seconds): 429 with Retry-After beyond."""
    raw = await request.body()
    if len(raw) > 4096:
        raise InputError("request too large", field="email")
    is_json = request.headers.get("content-type", "").startswith("application/json")
    try:
        data = (
            json.loads(raw or b"{}")
            if is_json
            else {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        )
    except (ValueError, UnicodeDecodeError):
        raise InputError("send email=… as a form or JSON", field="email") from None
    email = data.get("email") if isinstance(data, dict) else None
    if not isinstance(email, str):
        raise InputError("an email address is required", field="email")
    st = state_of(request)
    now = st.clock.now()
    flows.enabled_tenant(st.config, tenant)
    subscriptions.link_secret(st.settings)
    client = request.client.host if request.client else "unknown"

    def count(s: Session) -> OpsbookError | None:
        try:  # a refused request is counted too: this transaction commits either way
            subscriptions.count_request(s, st.settings, tenant, client, email, now)
        except OpsbookError as exc:
            return exc
        return None

    refused = await _run_sync(request, count)
    if refused is not None:
        raise refused
    await _run_sync(
        request, lambda s: subscriptions.request(s, st.config, st.settings, tenant, email, now)
    )
    text = "Almost done — we sent you an email with a link; open it to confirm your subscription."
    if is_json:
        return JSONResponse({"subscribed": False, "pending": True, "detail": text}, 202)
    html = await _render_async(request, tenant, text)
    return HTMLResponse(html, status_code=202, headers=_SECURITY_HEADERS)


_CONFIRM_STATUS = {"invalid": 400, "expired": 410, "used": 410}
_CONFIRM_TEXT = {
    "invalid": "This confirmation link is not valid.",
    "expired": "This confirmation link has expired: subscribe again on the status page.",
    "used": "This confirmation link was already used (or a newer one was sent).",
}
_CONFIRM_HEADERS = {**_SECURITY_HEADERS, "Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
ConfirmToken = Annotated[str, FastPath(min_length=1, max_length=1024)]


def _confirm_page(request: Request, title: str, text: str, status: int, form: str = "") -> Response:
    if "application/json" in request.headers.get(
        "accept", ""
    ) and "html" not in request.headers.get("accept", ""):
        if status >= 400:
            return JSONResponse(
                {"type": "about:blank", "title": title, "status": status, "detail": text},
                status,
                media_type="application/problem+json",
                headers=_CONFIRM_HEADERS,
            )
        return JSONResponse({"title": title, "detail": text}, status, headers=_CONFIRM_HEADERS)
    body = (
        f"<!doctype html><html lang=en><meta charset=utf-8>"
        f'<meta name=viewport content="width=device-width,initial-scale=1">'
        f'<title>{escape(title)}</title><main style="font:16px sans-serif;max-width:32em;'
        f'margin:2em auto"><h1>{escape(title)}</h1><p>{escape(text)}</p>{form}</main></html>'
    )
    return HTMLResponse(body, status, headers=_CONFIRM_HEADERS)


def _confirm_run(
    request: Request, tenant: str, token: str, fn: Callable[..., subscriptions.Pending]
) -> subscriptions.Pending | Response:
    st = state_of(request)
    try:
        return _tx(request, lambda s: fn(s, st.settings, tenant, token, st.clock.now()))
    except subscriptions.ConfirmRefused as exc:
        return _confirm_page(
            request, "Not confirmed", _CONFIRM_TEXT[exc.reason], _CONFIRM_STATUS[exc.reason]
        )


@public.get("/status/{tenant}/confirm/{token}", name="status_confirm", response_class=HTMLResponse)
def show_confirm(request: Request, tenant: str, token: ConfirmToken) -> Response:
    """What a confirmation link would confirm, with a button; a GET changes nothing."""
    got = _confirm_run(request, tenant, token, subscriptions.check)
    if isinstance(got, Response):
        return got
    form = '<form method="post"><button type="submit">Confirm</button></form>'
    text = f"Send status updates of {got.tenant} to {got.email}?"
    return _confirm_page(request, "Confirm your subscription", text, 200, form)


@public.post("/status/{tenant}/confirm/{token}", response_class=HTMLResponse)
def use_confirm(request: Request, tenant: str, token: ConfirmToken) -> Response:
    """Confirm the subscription (once): from now on the address gets public updates."""
    got = _confirm_run(request, tenant, token, subscriptions.confirm_subscription)
    if isinstance(got, Response):
        return got
    text = f"{got.email} will get the status updates of {got.tenant}. This link is now used up."
    return _confirm_page(request, "Subscription confirmed", text, 200)


async def _run_sync(request: Request, fn: Callable[[Session], T]) -> T:
    from fastapi.concurrency import run_in_threadpool

    return await run_in_threadpool(_tx, request, fn)


async def _render_async(request: Request, tenant: str, message: str) -> str:
    from fastapi.concurrency import run_in_threadpool

    return await run_in_threadpool(_render, request, tenant, message)


# -- commanders: component overrides -------------------------------------------------------------


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: ComponentState | None = Field(description="null clears the override")
    expires_at: datetime | None = None


class ComponentOut(BaseModel):
    name: str
    state: ComponentState
    override: dict[str, Any] | None


@router.get("/api/v1/status/components", response_model=list[ComponentOut], responses=_ERRORS)
def list_components(
    request: Request, p: Principal = Depends(require_role("viewer"))
) -> list[ComponentOut]:
    """The tenant's status-page components, their state now, and any override."""
    st = state_of(request)
    now = st.clock.now()

    def run(s: Session) -> list[ComponentOut]:
        states = flows.current_states(s, st.config, p.tenant, now)
        ov = flows.overrides_out(s, p.tenant, now)
        return [ComponentOut(name=c, state=v, override=ov.get(c)) for c, v in states.items()]

    return _tx(request, run)


@router.put("/api/v1/status/components/{component}", response_model=ComponentOut, responses=_ERRORS)
def put_component(
    request: Request,
    component: str,
    body: OverrideIn,
    p: Principal = Depends(require_role("commander")),
) -> ComponentOut:
    """Pin a component's public state (optionally until ``expires_at``); ``state: null`` clears."""
    st = state_of(request)
    now = st.clock.now()

    def run(s: Session) -> ComponentOut:
        flows.set_override(
            s,
            st.config,
            p.tenant,
            component,
            body.state,
            check_optional_time(body.expires_at, "expires_at", now),
            p.actor,
            now,
        )
        s.flush()
        states = flows.current_states(s, st.config, p.tenant, now)
        return ComponentOut(
            name=component,
            state=states[component],
            override=flows.overrides_out(s, p.tenant, now).get(component),
        )

    return _tx(request, run)


# -- commanders: public updates ----------------------------------------------------------------


class DraftOut(BaseModel):
    template: str
    status: UpdateStatus
    title: str
    body: str
    templates: list[str]


class UpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template: str | None = Field(default=None, description="the template the text started from")
    status: UpdateStatus | None = Field(default=None, description="default: the template's")
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=10_000)
    components: list[Annotated[str, Field(max_length=200)]] | None = Field(
        default=None, max_length=100, description="default: the incident service's components"
    )
    impact: ComponentState | None = None


class UpdateOut(BaseModel):
    id: str
    incident_id: str
    status: UpdateStatus
    title: str
    body: str
    components: list[str]
    impact: ComponentState
    author: str
    created_at: datetime
    notices_queued: int | None = None

    @classmethod
    def of(cls, r: StatusUpdateRow, notices: int | None = None) -> UpdateOut:
        return cls(
            id=r.id,
            incident_id=r.incident_id,
            status=UpdateStatus(r.status),
            title=r.title,
            body=r.body,
            components=r.components,
            impact=ComponentState(r.impact),
            author=r.author,
            created_at=r.created_at,
            notices_queued=notices,
        )


_UPDATES = "/api/v1/incidents/{incident_id}/status-updates"


@router.get(_UPDATES + "/draft", response_model=DraftOut, responses=_ERRORS)
def draft(
    request: Request,
    incident_id: str,
    template: Annotated[str, Query(max_length=64)] = "investigating",
    p: Principal = Depends(require_role("responder")),
) -> DraftOut:
    """A prefilled public update to edit before posting (only public facts are filled in)."""
    st = state_of(request)
    d = _tx(request, lambda s: flows.draft_update(s, st.config, p.tenant, incident_id, template))
    return DraftOut(
        template=d.template, status=d.status, title=d.title, body=d.body, templates=list(TEMPLATES)
    )


@router.get(_UPDATES, response_model=list[UpdateOut], responses=_ERRORS)
def list_updates(
    request: Request, incident_id: str, p: Principal = Depends(require_role("viewer"))
) -> list[UpdateOut]:
    """The incident's public updates, newest first."""
    return _tx(
        request, lambda s: [UpdateOut.of(r) for r in flows.list_updates(s, p.tenant, incident_id)]
    )


@router.post(_UPDATES, response_model=UpdateOut, status_code=201, responses=_ERRORS)
def post_update(
    request: Request,
    incident_id: str,
    body: UpdateIn,
    p: Principal = Depends(require_role("commander")),
) -> UpdateOut:
    """Publish an update on the status page exactly as written; subscribers are notified."""
    st = state_of(request)
    now = st.clock.now()
    if body.status is None and (body.template is None or body.template not in TEMPLATES):
        raise InputError("give a status or a known template", field="status")
    status = body.status or TEMPLATES[body.template or ""][0]

    def run(s: Session) -> UpdateOut:
        pub = flows.post_update(
            s,
            st.config,
            p.tenant,
            incident_id,
            p.actor,
            now,
            status=status,
            title=body.title,
            body=body.body,
            components=body.components,
            impact=body.impact,
        )
        return UpdateOut.of(pub.update, pub.notices)

    return _tx(request, run)


router.include_router(public)  # one router for app.py: the commanders' routes, then the public ones
