"""One-tap links from notifications: ``GET`` shows what a link would do, ``POST`` does it.

No login: the signed token in the path is the credential (see ``flows.links``). ``GET`` never
changes anything — mail scanners and chat previews fetch every link in a message, and such a
fetch must not acknowledge a page nobody read — so it answers a tiny page with a button that
POSTs to the same URL. Answers are small HTML pages for a browser (``Accept: text/html``);
other clients get JSON (errors as problem+json). A refused link changes nothing and says what
to do instead.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from opsbook.api.auth import state_of
from opsbook.api.problems import problem
from opsbook.flows.links import LinkRefused, LinkTarget, check_link, use_link
from opsbook.storage.db import translate_errors

router = APIRouter(prefix="/api/v1/links", tags=["links"])
T = TypeVar("T")

Token = Annotated[
    str,
    Path(
        min_length=1,
        max_length=2048,
        description="the signed token from an acknowledge/resolve link in a notification",
    ),
]

STATUS = {
    "disabled": 404,
    "invalid": 400,
    "not_found": 404,
    "not_allowed": 403,
    "conflict": 409,
    "expired": 410,
    "used": 410,
}
TITLES = {
    "disabled": "Links are off",
    "invalid": "Invalid link",
    "not_found": "Incident not found",
    "not_allowed": "Not allowed",
    "conflict": "Nothing to do",
    "expired": "Link expired",
    "used": "Link already used",
}
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token is in the URL: never send it on
    "X-Robots-Tag": "noindex, nofollow",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'",
}
_ERR: dict[str, Any] = {"content": {"text/html": {}, "application/problem+json": {}}}
_OK: dict[str, Any] = {"content": {"text/html": {}, "application/json": {}}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "forged, cut off or malformed link; nothing changed", **_ERR},
    403: {"description": "the person may no longer do this; nothing changed", **_ERR},
    404: {"description": "links are off on this server, or the incident is gone", **_ERR},
    409: {"description": "the incident is no longer in a state for this action", **_ERR},
    410: {"description": "expired or already used; nothing changed", **_ERR},
}
VERB = {"acknowledge": ("Acknowledge", "acknowledged"), "resolve": ("Resolve", "resolved")}


def _wants_json(request: Request) -> bool:
    """HTML for browsers (every browser's Accept names text/html); JSON for everything else.

    So a tap on a phone gets a page, while curl, scripts and API tools (``*/*``) get JSON and
    problem+json errors like every other route (DESIGN §6.8).
    """
    accept = request.headers.get("accept", "").lower()
    return "text/html" not in accept


def _page(title: str, paragraphs: list[str], status: int, form: str = "") -> HTMLResponse:
    """A tiny self-contained page; every value in ``paragraphs`` is already escaped."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    html = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · opsbook</title>"
        "<style>body{font:17px/1.4 system-ui,sans-serif;max-width:32em;margin:2em auto;"
        "padding:0 1em}button{font-size:1.1em;padding:.6em 1.4em}</style></head><body>"
        f"<h1>{escape(title)}</h1>{body}{form}</body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _refused(request: Request, exc: LinkRefused) -> Response:
    status = STATUS[exc.code]
    if _wants_json(request):
        return problem(status, TITLES[exc.code], exc.message, headers=HEADERS)
    return _page(TITLES[exc.code], [escape(exc.message), "Nothing was changed."], status)


def _describe(t: LinkTarget) -> str:
    return (
        f"incident {escape(t.incident_id)} ({escape(t.severity)}, {escape(t.service)}): "
        f"<q>{escape(t.title)}</q>"
    )


def _run(request: Request, fn: Callable[[Session], T]) -> T:
    with translate_errors(), state_of(request).sessions.begin() as s:
        return fn(s)


def _secret(request: Request) -> str | None:
    key = state_of(request).settings.secret_key
    return key.get_secret_value() if key is not None else None


@router.get(
    "/{token}",
    response_class=HTMLResponse,
    responses={200: {"description": "what the link would do, with a button", **_OK}, **RESPONSES},
    summary="Show what a one-tap link would do (changes nothing)",
)
def show_link(request: Request, token: Token) -> Response:
    """Verify the link and ask the person to confirm; a GET never changes anything."""
    st = state_of(request)
    try:
        t = _run(
            request, lambda s: check_link(s, st.config, _secret(request), token, st.clock.now())
        )
    except LinkRefused as exc:
        return _refused(request, exc)
    verb = VERB[t.claims.action][0]
    if _wants_json(request):
        return JSONResponse(
            {
                "action": t.claims.action,
                "incident_id": t.incident_id,
                "user": t.claims.user,
                "severity": t.severity,
                "service": t.service,
                "title": t.title,
                "status": t.status,
                "expires_at": t.claims.expires_at.isoformat().replace("+00:00", "Z"),
            },
            headers=HEADERS,
        )
    question = f"{verb} {_describe(t)} as <b>{escape(t.claims.user)}</b>?"
    form = f'<form method="post"><button type="submit">{escape(verb)}</button></form>'
    return _page(f"{verb} incident?", [question, f"Status now: {escape(t.status)}."], 200, form)


@router.post(
    "/{token}",
    response_class=HTMLResponse,
    responses={200: {"description": "done", **_OK}, **RESPONSES},
    summary="Carry out a one-tap link (once)",
)
def use(request: Request, token: Token) -> Response:
    """Acknowledge or resolve as the person the link was sent to; the link is then used up."""
    st = state_of(request)
    try:
        t = _run(
            request,
            lambda s: use_link(s, st.config, _secret(request), token, st.clock.now()),
        )
    except LinkRefused as exc:
        return _refused(request, exc)
    if _wants_json(request):
        return JSONResponse(
            {
                "action": t.claims.action,
                "incident_id": t.incident_id,
                "status": t.status,
                "actor": t.actor,
            },
            headers=HEADERS,
        )
    done = VERB[t.claims.action][1]
    return _page(
        f"Incident {done}",
        [f"Done: {_describe(t)} is {done} by {escape(t.actor)}.", "This link is now used up."],
        200,
    )
