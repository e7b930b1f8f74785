"""Tokens: created once and shown once; only their SHA-256 is stored (they are random, not passwords)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy.orm import Session

from opsbook.config.models import Config
from opsbook.core.errors import AuthError, InputError, NotFound
from opsbook.core.ids import new_id
from opsbook.flows import audit
from opsbook.storage import repos
from opsbook.storage.tables import Token

ROLES = ("viewer", "responder", "commander", "admin")
PREFIX = "opsb_"
OPERATOR_TENANT = "*"  # never a tenant's name (names start with a letter or digit)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    s: Session,
    config: Config,
    now: datetime,
    *,
    tenant: str,
    role: str | None = None,
    integration: str | None = None,
    name: str | None = None,
    actor: str = "cli",
) -> tuple[Token, str]:
    """A new API token (``role``) or intake token (``integration``); returns the row and the secret."""
    if config.tenant(tenant) is None:
        known = ", ".join(t.name for t in config.tenants)
        raise InputError(f"unknown tenant {tenant!r}; expected one of: {known}", field="tenant")
    if (role is None) == (integration is None):
        raise InputError(
            "give exactly one of --role (API token) or --integration (intake token)", field="role"
        )
    if role is not None and role not in ROLES:
        raise InputError(
            f"unknown role {role!r}; expected one of: {', '.join(ROLES)}", field="role"
        )
    secret = PREFIX + secrets.token_urlsafe(32)
    token = Token(
        id=new_id("tok"),
        tenant=tenant,
        name=name or (integration or f"{role}-token"),
        kind="api" if role else "intake",
        role=role,
        integration=integration,
        secret_hash=hash_secret(secret),
        hint=secret[: len(PREFIX) + 4],
        created_at=now,
        revoked_at=None,
    )
    s.add(token)
    _audit(s, now, token, "token.created", actor)
    return token, secret


def _audit(s: Session, now: datetime, token: Token, action: str, actor: str) -> None:
    audit.record(
        s, at=now, tenant=token.tenant, action=action, actor=actor, target=token.id,
        data={"kind": token.kind, "role": token.role, "integration": token.integration},
    )  # fmt: skip


def create_operator_token(
    s: Session, now: datetime, *, name: str | None = None, actor: str = "cli"
) -> tuple[Token, str]:
    """A token for whoever runs the server, not for a tenant: it may reload the global config
    (``POST /-/reload``) and nothing else. Only the CLI, on the database, makes one."""
    secret = PREFIX + secrets.token_urlsafe(32)
    token = Token(
        id=new_id("tok"),
        tenant=OPERATOR_TENANT,
        name=name or "operator",
        kind="operator",
        role=None,
        integration=None,
        secret_hash=hash_secret(secret),
        hint=secret[: len(PREFIX) + 4],
        created_at=now,
        revoked_at=None,
    )
    s.add(token)
    _audit(s, now, token, "token.created", actor)
    return token, secret


def authenticate(s: Session, secret: str) -> Token:
    """The live token for ``secret``, or AuthError."""
    token = repos.token_by_hash(s, hash_secret(secret))
    if token is None or token.revoked_at is not None:
        raise AuthError("unknown or revoked token")
    return token


def revoke_token(s: Session, token_id: str, now: datetime, actor: str = "cli") -> Token:
    token = next((t for t in repos.list_tokens(s) if t.id == token_id), None)
    if token is None:
        raise NotFound(f"no token {token_id!r}; `opsbook tokens list` shows the ids")
    if token.revoked_at is None:
        token.revoked_at = now
        _audit(s, now, token, "token.revoked", actor)
    return token
