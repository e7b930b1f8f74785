"""Bearer-token authentication and role checks. Every route states what it needs; none is open by accident."""

from __future__ import annotations

import time
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from opsbook.api.state import AppState
from opsbook.core.errors import AuthError, PermissionDenied
from opsbook.flows.tokens import authenticate, hash_secret
from opsbook.storage.db import translate_errors

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


class TokenCache:
    """Reuses a lookup for a few seconds so intake does not query the token table per request."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._items: dict[str, tuple[float, Principal]] = {}

    def get(self, key: str) -> Principal | None:
        hit = self._items.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        return None

    def put(self, key: str, value: Principal) -> None:
        if len(self._items) > 10000:
            self._items.clear()
        self._items[key] = (time.monotonic() + self.ttl, value)

    def clear(self) -> None:
        self._items.clear()


def state_of(request: Request) -> AppState:
    st: AppState = request.app.state.opsbook
    return st


def _lookup(st: AppState, secret: str) -> Principal:
    with translate_errors(), st.sessions() as s:  # database down → 503 + Retry-After, not 500
        t = authenticate(s, secret)
        return Principal(t.id, t.tenant, t.name, t.kind, t.role, t.integration)


async def principal(
    request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Principal:
    if creds is None or not creds.credentials:
        raise AuthError(
            "send an opsbook token as `Authorization: Bearer …` (create one with `opsbook tokens create`)"
        )
    st = state_of(request)
    cache: TokenCache = request.app.state.token_cache
    key = hash_secret(creds.credentials)
    found = cache.get(key)
    if found is None:
        found = await run_in_threadpool(_lookup, st, creds.credentials)
        cache.put(key, found)
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
