"""Signed acknowledge/resolve links that work from a phone without logging in.

A token is a ``v1`` token of ``core.signed`` (base64url JSON of action, incident, user, expiry
and nonce, HMAC-SHA256 signed with the server's secret). Tokens expire; *single use* is the
caller's job: store ``claims.nonce`` when the action is carried out and refuse a nonce seen before (the nonce is
random, so two links for the same action differ).
"""

from __future__ import annotations

import secrets as _secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from opsbook.core.signed import BadToken, seal, unseal

LinkAction = Literal["acknowledge", "resolve"]
ACTIONS: tuple[LinkAction, ...] = ("acknowledge", "resolve")
_VERSION = "v1"


class InvalidLink(ValueError):
    """A link that must do nothing; ``reason`` is safe to show (never the secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class LinkClaims:
    """What a valid token says. ``nonce`` is what the caller stores to make it single use."""

    action: LinkAction
    incident_id: str
    user: str
    expires_at: datetime
    nonce: str


def sign(
    action: LinkAction,
    incident_id: str,
    user: str,
    expires_at: datetime,
    secret: str | bytes,
    *,
    nonce: str | None = None,
) -> str:
    """A URL-safe token for ``user`` to ``action`` the incident until ``expires_at``."""
    if action not in ACTIONS:
        raise ValueError(f"unknown link action {action!r}")
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    payload = {
        "a": action,
        "i": incident_id,
        "u": user,
        "e": int(expires_at.timestamp()),
        "n": nonce or _secrets.token_urlsafe(12),
    }
    return seal(_VERSION, payload, secret)


def verify(token: str, secret: str | bytes, now: datetime) -> LinkClaims:
    """The claims of a genuine, unexpired token; raises :class:`InvalidLink` otherwise."""
    try:
        data = unseal(_VERSION, token, secret)
    except BadToken as exc:
        reason = "bad signature" if exc.reason == "bad signature" else "malformed link"
        raise InvalidLink(reason) from None
    try:
        action, incident_id, user = data["a"], data["i"], data["u"]
        expires_at = datetime.fromtimestamp(int(data["e"]), UTC)
        nonce = data["n"]
    except (ValueError, KeyError, TypeError, OverflowError):
        raise InvalidLink("malformed link") from None
    if action not in ACTIONS or not all(isinstance(v, str) for v in (incident_id, user, nonce)):
        raise InvalidLink("malformed link")
    if now >= expires_at:
        raise InvalidLink("link expired")
    return LinkClaims(action, incident_id, user, expires_at, nonce)
