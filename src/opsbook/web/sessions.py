"""Local users and server-side sessions of the web UI, stored in ``web_users``/``web_sessions``.

The browser holds only a random session secret; the database keeps its SHA-256, the user it
belongs to, a per-session CSRF token and an absolute expiry. The role is read from the user row
on every request, so changing or removing a user takes effect at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from opsbook.config.models import Config
from opsbook.flows import audit
from opsbook.storage.tables_web import WebSession, WebUser
from opsbook.web.passwords import DUMMY_HASH, hash_password, verify_password

SESSION_TTL = timedelta(hours=8)
ROLES = ("viewer", "responder", "commander", "admin")


@dataclass(frozen=True)
class SignedIn:
    """A live session: who, in which tenant, with which role, and the CSRF token of its forms."""

    session_id: str
    tenant: str
    name: str
    role: str
    csrf: str
    expires_at: datetime


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def save_user(
    s: Session,
    tenant: str,
    name: str,
    role: str,
    password: str,
    now: datetime,
    actor: str = "cli",
) -> WebUser:
    """Create the user or set a new role and password; the user's open sessions end."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    user = s.get(WebUser, (tenant, name))
    hashed = hash_password(password)
    if user is None or user.role != role:
        audit.record(
            s, at=now, tenant=tenant, action="user.role_changed", actor=actor, subject=name,
            data={"from": user.role if user else None, "to": role},
        )  # fmt: skip
    if user is None:
        user = WebUser(
            tenant=tenant,
            name=name,
            role=role,
            password_hash=hashed,
            created_at=now,
            updated_at=now,
        )
        s.add(user)
    else:
        user.role, user.password_hash, user.updated_at = role, hashed, now
        s.execute(
            delete(WebSession).where(WebSession.tenant == tenant, WebSession.user_name == name)
        )
    s.flush()
    return user


def check_password(
    s: Session, login: str, password: str, config: Config | None = None, now: datetime | None = None
) -> WebUser | None:
    """The user ``login`` names (``name``, or ``tenant/name`` when a name exists in several
    tenants) if ``password`` is theirs; None otherwise, in about the same time either way.

    Users added with ``opsbook users add`` live in the database; users declared in opsbook.yaml
    with a ``password_hash`` sign in too (their row is kept in step with the config on sign-in).
    """
    tenant, _, name = login.strip().rpartition("/")
    q = select(WebUser).where(WebUser.name == name)
    if tenant:
        q = q.where(WebUser.tenant == tenant)
    found = list(s.scalars(q.limit(2)))
    user = found[0] if len(found) == 1 else None
    declared = [
        u
        for u in (config.users if config else [])
        if u.name == name and u.password_hash and (not tenant or u.tenant == tenant)
    ]
    if user is None and len(declared) == 1 and now is not None:
        cfg_user = declared[0]
        if not verify_password(cfg_user.password_hash or DUMMY_HASH, password):
            return None
        row = WebUser(
            tenant=cfg_user.tenant,
            name=cfg_user.name,
            role=cfg_user.role,
            password_hash=cfg_user.password_hash or "",
            created_at=now,
            updated_at=now,
        )
        s.merge(row)
        s.flush()
        return s.get(WebUser, (cfg_user.tenant, cfg_user.name))
    ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
    if ok and user is not None and declared and declared[0].role != user.role:
        audit.record(
            s, at=now or user.updated_at, tenant=user.tenant, action="user.role_changed",
            actor="system:config", subject=user.name,
            data={"from": user.role, "to": declared[0].role},
        )  # fmt: skip
        user.role = declared[0].role  # the config is the source of truth for declared users
    return user if ok and user is not None else None


def open_session(s: Session, user: WebUser, now: datetime) -> tuple[str, SignedIn]:
    """A new session for ``user``; returns the cookie secret (shown once) and the session."""
    secret = secrets.token_urlsafe(32)
    row = WebSession(
        id=_digest(secret),
        tenant=user.tenant,
        user_name=user.name,
        csrf=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + SESSION_TTL,
    )
    s.add(row)
    s.execute(delete(WebSession).where(WebSession.expires_at <= now))  # sweep expired ones
    s.flush()
    return secret, SignedIn(row.id, user.tenant, user.name, user.role, row.csrf, row.expires_at)


def find_session(s: Session, secret: str, now: datetime) -> SignedIn | None:
    """The live session the cookie ``secret`` belongs to; None when unknown, expired or its user is gone."""
    if not secret or len(secret) > 128:
        return None
    row = s.get(WebSession, _digest(secret))
    if row is None or row.expires_at <= now:
        return None
    user = s.get(WebUser, (row.tenant, row.user_name))
    if user is None:
        return None
    return SignedIn(row.id, row.tenant, row.user_name, user.role, row.csrf, row.expires_at)


def close_session(s: Session, secret: str) -> None:
    """Sign out: the session row is deleted, so the cookie is worthless even if it was copied."""
    s.execute(delete(WebSession).where(WebSession.id == _digest(secret)))
