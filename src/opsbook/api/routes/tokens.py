"""Token management for a tenant's admins (the CLI does the same straight on the database)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, model_validator

from opsbook.api.auth import Principal, require_role, state_of
from opsbook.core.errors import NotFound
from opsbook.flows import tokens as flows
from opsbook.storage import repos
from opsbook.storage.db import translate_errors
from opsbook.storage.tables import Token

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])


class TokenOut(BaseModel):
    id: str
    name: str
    kind: str
    role: str | None
    integration: str | None
    hint: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, t: Token) -> TokenOut:
        return cls(
            id=t.id,
            name=t.name,
            kind=t.kind,
            role=t.role,
            integration=t.integration,
            hint=t.hint,
            created_at=t.created_at,
            revoked_at=t.revoked_at,
        )


class TokenCreated(TokenOut):
    token: str = Field(description="the secret; shown once, never again")


class TokenIn(BaseModel):
    role: Literal["viewer", "responder", "commander", "admin"] | None = None
    integration: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$"
    )
    name: str | None = Field(default=None, min_length=1, max_length=128)

    @model_validator(mode="after")
    def _one_kind(self) -> TokenIn:
        if (self.role is None) == (self.integration is None):
            raise ValueError("give exactly one of role (API token) or integration (intake token)")
        return self


@router.get("", response_model=list[TokenOut])
def list_tokens(request: Request, p: Principal = Depends(require_role("admin"))) -> list[TokenOut]:
    with translate_errors(), state_of(request).sessions() as s:
        return [TokenOut.of(t) for t in repos.list_tokens(s, p.tenant)]


@router.post("", response_model=TokenCreated, status_code=201)
def create_token(
    request: Request, body: TokenIn, p: Principal = Depends(require_role("admin"))
) -> TokenCreated:
    st = state_of(request)
    with translate_errors(), st.sessions.begin() as s:
        token, secret = flows.create_token(
            s,
            st.config,
            st.clock.now(),
            tenant=p.tenant,
            role=body.role,
            integration=body.integration,
            name=body.name,
            actor=p.actor,
        )
        return TokenCreated(**TokenOut.of(token).model_dump(), token=secret)


@router.delete("/{token_id}", response_model=TokenOut)
def revoke_token(
    request: Request, token_id: str, p: Principal = Depends(require_role("admin"))
) -> TokenOut:
    st = state_of(request)
    with translate_errors(), st.sessions.begin() as s:
        if not any(t.id == token_id for t in repos.list_tokens(s, p.tenant)):
            raise NotFound(f"no token {token_id!r}")
        token = flows.revoke_token(s, token_id, st.clock.now(), actor=p.actor)
        request.app.state.token_cache.clear()
        return TokenOut.of(token)
