"""Who is using the web UI: the session cookie → a ``Principal`` like the API's, CSRF checks, forms.

Cookies are HttpOnly, SameSite=Lax, and Secure when the request came over https. Every POST
carries a CSRF token: the session's own token once signed in, and a double-submit cookie on the
sign-in form (there is no session yet). Role checks use the API's ``ROLE_RANK`` unchanged.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from opsbook.api.auth import ROLE_RANK, Principal, state_of
from opsbook.core.errors import PermissionDenied
from opsbook.storage.db import translate_errors
from opsbook.web.sessions import SESSION_TTL, SignedIn, find_session

SESSION_COOKIE = "opsbook_session"
LOGIN_CSRF_COOKIE = "opsbook_login_csrf"
MAX_FORM_BYTES = 64 * 1024


class CsrfRejected(Exception):
    """A form post without the right CSRF token: refused with 403, nothing changed."""


def principal_of(who: SignedIn) -> Principal:
    """The API's Principal for a signed-in person, so flows and checks see the same caller."""
    return Principal(
        token_id=f"web:{who.session_id[:12]}",
        tenant=who.tenant,
        name=who.name,
        kind="api",
        role=who.role,
        integration=None,
    )


def may(who: SignedIn, minimum: str) -> bool:
    """``require_role`` semantics as a test: is the role at least ``minimum``?"""
    return ROLE_RANK.get(who.role, -1) >= ROLE_RANK[minimum]


def require(who: SignedIn, minimum: str) -> Principal:
    """The Principal, or PermissionDenied with the API's wording when the role is too low."""
    if not may(who, minimum):
        raise PermissionDenied(f"this needs the {minimum} role or above; you are {who.role}")
    return principal_of(who)


async def signed_in(request: Request) -> SignedIn | None:
    """The live session of this request's cookie, or None."""
    secret = request.cookies.get(SESSION_COOKIE, "")
    if not secret:
        return None
    st = state_of(request)

    def lookup() -> SignedIn | None:
        with translate_errors(), st.sessions() as s:
            return find_session(s, secret, st.clock.now())

    return await run_in_threadpool(lookup)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(request: Request, response: Response, secret: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(SESSION_TTL.total_seconds()),
        path="/ui",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/ui", httponly=True, samesite="lax", secure=_secure(request)
    )


def login_token(request: Request) -> str:
    """The sign-in form's double-submit token: the browser's cookie if it has one, else a new one."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return token if 20 <= len(token) <= 64 else secrets.token_urlsafe(32)


def set_login_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def same_token(expected: str, given: str) -> bool:
    return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as a dict (last value wins), size-limited."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {k: v[-1] for k, v in parsed.items()}


def check_csrf(who: SignedIn, form: dict[str, str]) -> None:
    """Raise CsrfRejected unless the form carries this session's token."""
    if not same_token(who.csrf, form.get("csrf", "")):
        raise CsrfRejected("this form is not from your session; reload the page and try again")
