"""Bearer-token authentication and role checks. Every route states what it needs; none is open by accident."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from opsbook.api.state import AppState
from opsbook.core.errors import AuthError, PermissionDenied
from opsbook.flows.tokens import authenticate, hash_secret
from opsbook.storage.db import translate_errors

log = structlog.get_logger("opsbook.auth")

ROLE_RANK = {"viewer": 0, "responder": 1, "commander": 2, "admin": 3}

bearer = HTTPBearer(auto_error=False, description="an opsbook API or intake token")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's tenant, name, kind and role or integration."""

    token_id: str
    tenant: str
    name: str
    kind: str
    role: str | None
    integration: str | None

    @property
    def actor(self) -> str:
        return f"integration:{self.integration}" if self.kind == "intake" else self.name


RECHECK_SECONDS = 1.0
"""A cached token is checked against the database again at least this often, so a token
revoked on any replica is refused everywhere within a second."""


class TokenCache:
    """Token lookups reused so intake does not query the token table per request.

    An entry is served for at most ``min(ttl, RECHECK_SECONDS)`` after its lookup; from half
    that age on, the first request to use it starts a fresh lookup in the background (one per
    token at a time) and keeps being served the cached answer until it lands, so under steady
    load no request waits for the token table. A revoked or deleted token leaves the cache at
    the next lookup. ``monotonic`` is injectable so tests can age entries without sleeping.
    """

    def __init__(self, ttl: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl = min(ttl, RECHECK_SECONDS)
        self.monotonic = monotonic
        self._items: dict[str, tuple[float, Principal]] = {}
        self._refreshing: dict[str, asyncio.Task[None]] = {}

    def get(self, key: str) -> Principal | None:
        """The cached principal while its lookup is fresh enough, else None."""
        hit = self._items.get(key)
        if hit and self.monotonic() - hit[0] < self.ttl:
            return hit[1]
        return None

    def stale(self, key: str) -> bool:
        """Whether the entry is old enough to be looked up again (in the background)."""
        hit = self._items.get(key)
        return hit is not None and self.monotonic() - hit[0] >= self.ttl / 2

    def put(self, key: str, value: Principal, looked_up_at: float | None = None) -> None:
        if len(self._items) > 10000:
            self._items.clear()
        self._items[key] = (self.monotonic() if looked_up_at is None else looked_up_at, value)

    def drop(self, key: str) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()

    def refresh(self, key: str, lookup: Callable[[], Awaitable[Principal]]) -> None:
        """Look ``key`` up again in the background unless a lookup of it is under way."""
        if key in self._refreshing:
            return
        started = self.monotonic()

        async def run() -> None:
            try:
                found = await lookup()
            except AuthError:
                self.drop(key)  # revoked: refused from the next request on
            except Exception:  # noqa: BLE001 - storage trouble: the entry ages out instead
                log.info("token_recheck_failed")
            else:
                self.put(key, found, started)
            finally:
                self._refreshing.pop(key, None)

        self._refreshing[key] = asyncio.get_running_loop().create_task(run())


def state_of(request: Request) -> AppState:
    st: AppState = request.app.state.opsbook
    return st


def _lookup(st: AppState, secret: str) -> Principal:
    with translate_errors(), st.sessions() as s:  # database down → 503 + Retry-After, not 500
        t = authenticate(s, secret)
        return Principal(t.id, t.tenant, t.name, t.kind, t.role, t.integration)


def bearer_credentials(request: Request) -> HTTPAuthorizationCredentials | None:
    """``Authorization: Bearer <token>`` read as ``HTTPBearer(auto_error=False)`` reads it,
    for the lean intake routes that do not go through FastAPI's dependencies."""
    value = request.headers.get("authorization")
    scheme, credentials = get_authorization_scheme_param(value)
    if not (value and scheme and credentials) or scheme.lower() != "bearer":
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=credentials)


async def principal(
    request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Principal:
    if creds is None or not creds.credentials:
        raise AuthError(
            "send an opsbook token as `Authorization: Bearer …` (create one with `opsbook tokens create`)"
        )
    st = state_of(request)
    cache: TokenCache = request.app.state.token_cache
    secret = creds.credentials
    key = hash_secret(secret)
    found = cache.get(key)
    if found is None:
        found = await run_in_threadpool(_lookup, st, secret)
        cache.put(key, found)
    elif cache.stale(key):
        cache.refresh(key, lambda: run_in_threadpool(_lookup, st, secret))
    return found


def require_role(minimum: str):  # type: ignore[no-untyped-def]
    """A dependency that admits API tokens whose role is at least ``minimum``."""

    async def check(p: Principal = Depends(principal)) -> Principal:
        if p.kind == "operator":
            raise PermissionDenied(
                "an operator token only operates the server (POST /-/reload); use an API token here"
            )
        if p.kind != "api" or p.role is None:
            raise PermissionDenied("an intake token can only post alerts; use an API token here")
        if ROLE_RANK[p.role] < ROLE_RANK[minimum]:
            raise PermissionDenied(
                f"this needs the {minimum} role or above; this token is {p.role}"
            )
        return p

    return check


async def require_operator(p: Principal = Depends(principal)) -> Principal:
    """Acts on the whole server (every tenant's config) need an operator token, never a tenant's."""
    if p.kind != "operator":
        this = "an intake token" if p.kind == "intake" else f"a {p.role} token of tenant {p.tenant}"
        raise PermissionDenied(
            "this changes the server for every tenant and needs an operator token "
            f"(`opsbook tokens create --operator`, made on the server's database); this is {this}"
        )
    return p


async def require_intake(p: Principal = Depends(principal)) -> Principal:
    """Intake routes take intake tokens only, so a leaked sender token cannot read incidents."""
    if p.kind != "intake":
        raise PermissionDenied(
            "intake routes need an intake token: `opsbook tokens create --tenant T --integration NAME`"
        )
    return p
