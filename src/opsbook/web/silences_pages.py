"""The silences and maintenance page ``/ui/silences``: list, create (with a preview), expire.

Every handler calls the same flows as ``api/routes/silences.py`` with the same guardrails and
roles: responders and above create and expire silences (``force`` is admin-only, checked by the
flow), commanders and above create and delete one-off maintenance windows, viewers only read.
Every POST checks the session's CSRF token first. Plain forms that work without JavaScript; the
preview also updates as one types, through HTMX (``GET /ui/silences/preview``).

The preview has two ways in: ``GET /ui/silences?matchers=…`` (a link or the HTMX fragment) and
the create form's "Preview matches" button, which posts the form back with ``intent=preview``
and creates nothing — a POST so the form's CSRF token never ends up in a URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from opsbook.api.auth import state_of
from opsbook.api.params import MAX_DURATION, MIN_DURATION, check_time, parse_bounded_duration
from opsbook.config.durations import format_duration
from opsbook.core.errors import InputError, OpsbookError
from opsbook.flows import silences as flows
from opsbook.silences.models import SilenceState, format_matcher
from opsbook.storage.db import translate_errors
from opsbook.web.auth import CsrfRejected, check_csrf, may, read_form, require, signed_in
from opsbook.web.pages import base, status_of, to_login
from opsbook.web.render import page
from opsbook.web.sessions import SignedIn

router = APIRouter()
Form = dict[str, str]

MAX_MATCHERS = 50  # the API's limits (SilenceIn / WindowIn)
MAX_MATCHER_CHARS = 1000
MAX_COMMENT = 2000
WINDOW_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_. -]{0,62}$")
SHOWN_EXPIRED = 50
DURATIONS = ("30m", "1h", "2h", "4h", "8h", "1d", "3d", "7d")


@dataclass(frozen=True)
class SilenceView:
    """One silence as the page lists it."""

    id: str
    matchers: list[str]
    state: str
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    forced: bool
    expired_by: str | None


@dataclass(frozen=True)
class WindowView:
    """One maintenance window (from config or made here/through the API)."""

    id: str | None
    name: str
    source: str
    description: str
    services: list[str]
    components: list[str]
    start: datetime | None
    end: datetime | None
    cron: str | None
    timezone: str
    active: bool
    next: tuple[datetime, datetime] | None


def matcher_lines(text: str) -> list[str]:
    """The matchers textarea → one matcher per non-blank line, within the API's limits."""
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    if len(lines) > MAX_MATCHERS:
        raise InputError(f"at most {MAX_MATCHERS} matchers", field="matchers")
    for x in lines:
        if len(x) > MAX_MATCHER_CHARS:
            raise InputError(
                f"a matcher is longer than {MAX_MATCHER_CHARS} characters", field="matchers"
            )
    return lines


def _duration(
    text: str, field: str, least: timedelta = MIN_DURATION, most: timedelta = MAX_DURATION
) -> timedelta:
    """A duration field within the request bounds (``api.params``)."""
    return parse_bounded_duration(text or "", field, least=least, most=most)


def _when(text: str, field: str, now: datetime) -> datetime:
    """A ``datetime-local`` field read as UTC; blank means now."""
    text = text.strip()
    if not text:
        return now
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{field}: expected a time like 2026-01-01T12:00 (UTC)", field=field
        ) from None
    return check_time(value, field, now)


def _text(form: Form, key: str, limit: int) -> str:
    value = form.get(key, "").strip()
    if len(value) > limit:
        raise InputError(f"{key} is longer than {limit} characters", field=key)
    return value


def _silence_draft(form: Form | None = None) -> dict[str, Any]:
    f = form or {}
    return {
        "matchers": f.get("matchers", "")[: MAX_MATCHERS * (MAX_MATCHER_CHARS + 1)],
        "duration": f.get("duration", "2h")[:32],
        "starts": f.get("starts", "")[:32],
        "comment": f.get("comment", "")[:MAX_COMMENT],
        "force": f.get("force") == "on",
    }


def _window_draft(form: Form | None = None) -> dict[str, Any]:
    f = form or {}
    return {
        "name": f.get("name", "")[:63],
        "description": f.get("description", "")[:MAX_COMMENT],
        "start": f.get("start", "")[:32],
        "duration": f.get("duration", "2h")[:32],
        "notify_before": f.get("notify_before", "1h")[:32],
        "services": {k[8:] for k, v in f.items() if k.startswith("service.") and v},
        "components": {k[10:] for k, v in f.items() if k.startswith("component.") and v},
    }


def _preview(request: Request, who: SignedIn, text: str) -> dict[str, Any]:
    """The preview's context: the alerts firing now that these matchers match, or why none."""
    out: dict[str, Any] = {"asked": bool(text.strip()), "alerts": [], "preview_error": None}
    if not out["asked"]:
        return out
    st = state_of(request)
    try:
        lines = matcher_lines(text)
        with translate_errors(), st.sessions() as s:
            out["alerts"] = flows.preview(s, who.tenant, lines)
    except OpsbookError as exc:
        out["preview_error"] = exc.detail
    return out


def _context(request: Request, who: SignedIn) -> dict[str, Any]:
    """The lists: the tenant's silences by state, its maintenance windows, silenced alerts."""
    st = state_of(request)
    now = st.clock.now()
    with translate_errors(), st.sessions() as s:
        rows = flows.list_silences(s, who.tenant)
        windows = flows.all_windows(s, st.config, who.tenant, now)
        quieted = flows.silenced_alerts(s, who.tenant, limit=50)
        by_state: dict[str, list[SilenceView]] = {x.value: [] for x in SilenceState}
        for r in rows:
            sil = flows.to_silence(r)
            v = SilenceView(
                id=r.id,
                matchers=[format_matcher(m) for m in sil.matchers],
                state=sil.state(now).value,
                starts_at=r.starts_at,
                ends_at=r.ends_at,
                created_by=r.created_by,
                comment=r.comment,
                forced=r.forced,
                expired_by=r.expired_by,
            )
            by_state[v.state].append(v)
        views = []
        for w in windows:
            nxt = w.occurrences(now, now + timedelta(days=30))[:1]
            views.append(
                WindowView(
                    id=w.id,
                    name=w.name,
                    source="opsbook.yaml" if w.id is None else "made here or via the API",
                    description=w.description,
                    services=list(w.services),
                    components=list(w.components),
                    start=w.start,
                    end=w.end,
                    cron=w.cron,
                    timezone=w.timezone,
                    active=w.active_at(now) is not None,
                    next=nxt[0] if nxt else None,
                )
            )
    by_state["pending"].sort(key=lambda v: v.starts_at)
    services = flows.components_of_service(st.config, who.tenant)
    return {
        **base(who),
        "now": now,
        "active": by_state["active"],
        "pending": by_state["pending"],
        "expired": by_state["expired"][:SHOWN_EXPIRED],
        "expired_total": len(by_state["expired"]),
        "windows": views,
        "quieted": quieted,
        "services": list(services),
        "components": sorted({c for cs in services.values() for c in cs}),
        "is_admin": may(who, "admin"),
        "max_duration": format_duration(st.config.status_page.silence_max_duration),
        "durations": DURATIONS,
    }


def _page(
    request: Request,
    who: SignedIn,
    *,
    silence: dict[str, Any] | None = None,
    window: dict[str, Any] | None = None,
    error: str | None = None,
    error_in: str = "silence",
    notice: str | None = None,
    status: int = 200,
) -> Response:
    """The whole page; a refused form comes back filled in, with the reason beside it."""
    draft = silence or _silence_draft()
    ctx = {
        **_context(request, who),
        **_preview(request, who, draft["matchers"]),
        "silence": draft,
        "window": window or _window_draft(),
        "error": error,
        "error_in": error_in,
        "notice": notice,
    }
    return page("silences.html", ctx, status=status)


@router.get("/silences")
async def silences_page(request: Request) -> Response:
    """Silences (active, pending, expired), maintenance windows, and the create forms.

    ``?matchers=…`` (one per line) fills the silence form in and shows what it would match.
    """
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    q = request.query_params
    draft = _silence_draft({k: q.get(k, "") for k in ("matchers", "comment", "starts")})
    draft["duration"] = q.get("duration", "2h")[:32]
    created = q.get("created", "")[:64]
    notice = f"Silence {created} created." if re.fullmatch(r"sil_[A-Za-z0-9]+", created) else None

    def render() -> Response:
        try:
            return _page(request, who, silence=draft, notice=notice)
        except OpsbookError as exc:
            return _error(request, who, exc)

    return await run_in_threadpool(render)


@router.get("/silences/preview")
async def silences_preview(request: Request) -> Response:
    """The preview alone (HTMX swaps it in as the matchers are typed)."""
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    text = request.query_params.get("matchers", "")[: MAX_MATCHERS * (MAX_MATCHER_CHARS + 1)]
    ctx = await run_in_threadpool(_preview, request, who, text)
    return page("silences_preview.html", {**base(who), **ctx})


def _error(request: Request, who: SignedIn, exc: OpsbookError) -> Response:
    return page(
        "error.html",
        {"who": who, "title": exc.title, "detail": exc.detail, "code": status_of(exc)},
        status=status_of(exc),
    )


async def _posted(request: Request) -> tuple[SignedIn | None, Form, Response | None]:
    """Session and CSRF of a form post: (who, form, None) or the response that refuses it."""
    who = await signed_in(request)
    if who is None:
        return None, {}, to_login(request)
    form = await read_form(request)
    try:
        check_csrf(who, form)
    except CsrfRejected:
        return who, form, page("forbidden.html", {"who": who}, status=403)
    return who, form, None


@router.post("/silences")
async def create_silence(request: Request) -> Response:
    """Create a silence (responder+; guardrails as the API), or preview it (``intent=preview``)."""
    who, form, refused = await _posted(request)
    if refused is not None or who is None:
        return refused or to_login(request)
    draft = _silence_draft(form)
    if form.get("intent") == "preview":
        return await run_in_threadpool(lambda: _page(request, who, silence=draft))
    st = state_of(request)

    def run() -> str:
        p = require(who, "responder")
        now = st.clock.now()
        lines = matcher_lines(draft["matchers"])  # none: the flow's guardrail says so
        start = _when(draft["starts"], "starts", now)
        ends = max(start, now) + _duration(draft["duration"], "duration")
        with translate_errors(), st.sessions.begin() as s:
            row = flows.create_silence(
                s, st.config, p.tenant, p.actor, p.role or "viewer", now,
                matchers=lines, starts_at=start if draft["starts"].strip() else None,
                ends_at=ends, comment=_text(form, "comment", MAX_COMMENT), force=draft["force"],
            )  # fmt: skip
            return row.id

    try:
        sid = await run_in_threadpool(run)
    except OpsbookError as exc:
        detail, code = exc.detail, status_of(exc)
        return await run_in_threadpool(
            lambda: _page(request, who, silence=draft, error=detail, status=code)
        )
    return RedirectResponse(f"/ui/silences?created={sid}", status_code=303)


@router.post("/silences/{silence_id}/expire")
async def expire_silence(request: Request, silence_id: str) -> Response:
    """End a silence now (responder+); another tenant's silence is not found (404)."""
    who, _form, refused = await _posted(request)
    if refused is not None or who is None:
        return refused or to_login(request)
    st = state_of(request)

    def run() -> None:
        p = require(who, "responder")
        with translate_errors(), st.sessions.begin() as s:
            flows.expire_silence(s, p.tenant, silence_id[:64], p.actor, st.clock.now())

    try:
        await run_in_threadpool(run)
    except OpsbookError as exc:
        detail, code = exc.detail, status_of(exc)
        return await run_in_threadpool(lambda: _page(request, who, error=detail, status=code))
    return RedirectResponse("/ui/silences", status_code=303)


@router.post("/silences/maintenance")
async def create_window(request: Request) -> Response:
    """A one-off maintenance window over services and/or components (commander+, as the API)."""
    who, form, refused = await _posted(request)
    if refused is not None or who is None:
        return refused or to_login(request)
    draft = _window_draft(form)
    st = state_of(request)

    def run() -> None:
        p = require(who, "commander")
        now = st.clock.now()
        name = draft["name"].strip()
        if not WINDOW_NAME.match(name):
            raise InputError(
                "name: letters, digits, '_', '.', '-' and spaces, up to 63, starting with a "
                "letter or digit",
                field="name",
            )
        start = _when(draft["start"], "start", now)
        with translate_errors(), st.sessions.begin() as s:
            flows.create_window(
                s, st.config, p.tenant, p.actor, now, name=name,
                description=_text(form, "description", MAX_COMMENT),
                services=sorted(draft["services"]), components=sorted(draft["components"]),
                start=start, end=start + _duration(draft["duration"], "duration"),
                notify_before=_duration(
                    draft["notify_before"], "notify_before", timedelta(0), timedelta(days=30)
                ),
            )  # fmt: skip

    try:
        await run_in_threadpool(run)
    except OpsbookError as exc:
        detail, code = exc.detail, status_of(exc)
        return await run_in_threadpool(
            lambda: _page(request, who, window=draft, error=detail, error_in="window", status=code)
        )
    return RedirectResponse("/ui/silences#maintenance", status_code=303)


@router.post("/silences/maintenance/{window_id}/delete")
async def delete_window(request: Request, window_id: str) -> Response:
    """Remove a one-off window (commander+); config windows change in opsbook.yaml."""
    who, _form, refused = await _posted(request)
    if refused is not None or who is None:
        return refused or to_login(request)
    st = state_of(request)

    def run() -> None:
        p = require(who, "commander")
        with translate_errors(), st.sessions.begin() as s:
            flows.delete_window(s, p.tenant, window_id[:64])

    try:
        await run_in_threadpool(run)
    except OpsbookError as exc:
        detail, code = exc.detail, status_of(exc)
        return await run_in_threadpool(
            lambda: _page(request, who, error=detail, error_in="window", status=code)
        )
    return RedirectResponse("/ui/silences#maintenance", status_code=303)
