"""Signed acknowledge/resolve links that work from a phone without logging in.

A token is ``v1.<payload>.<mac>``: the payload is base64url JSON (action, incident, user,
expiry, nonce) and the MAC is HMAC-SHA256 over ``v1.<payload>`` with the server's secret,
compared in constant time. Tokens expire; *single use* is the caller's job: store
``claims.nonce`` when the action is carried out and refuse a nonce seen before (the nonce is
random, so two links for the same action differ).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets as _secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

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


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(secret: str | bytes) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    if len(key) < 16:
        raise ValueError("the link secret must be at least 16 bytes")
    return key


def _mac(key: bytes, signed: str) -> str:
    return _b64(hmac.new(key, signed.encode("utf-8"), hashlib.sha256).digest())


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
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    signed = f"{_VERSION}.{body}"
    return f"{signed}.{_mac(_key(secret), signed)}"


def verify(token: str, secret: str | bytes, now: datetime) -> LinkClaims:
    """The claims of a genuine, unexpired token; raises :class:`InvalidLink` otherwise."""
    key = _key(secret)
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != _VERSION:
        raise InvalidLink("malformed link")
    signed = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_mac(key, signed).encode(), parts[2].encode("utf-8")):
        raise InvalidLink("bad signature")
    try:
        data = json.loads(_unb64(parts[1]))
        action, incident_id, user = data["a"], data["i"], data["u"]
        expires_at = datetime.fromtimestamp(int(data["e"]), UTC)
        nonce = data["n"]
    except (ValueError, KeyError, TypeError, binascii.Error, OverflowError):
        raise InvalidLink("malformed link") from None
    if action not in ACTIONS or not all(isinstance(v, str) for v in (incident_id, user, nonce)):
        raise InvalidLink("malformed link")
    if now >= expires_at:
        raise InvalidLink("link expired")
    return LinkClaims(action, incident_id, user, expires_at, nonce)
