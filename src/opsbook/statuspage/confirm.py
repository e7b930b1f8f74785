"""Signed links that confirm a status-page subscription (double opt-in).

A token is ``c1.<payload>.<mac>``: base64url JSON (tenant, subscriber, nonce, expiry) and an
HMAC-SHA256 over ``c1.<payload>`` with the server's secret, compared in constant time. The
``c1`` prefix is signed too, so an acknowledge link (``v1``) is never a confirmation link.
*Single use* is the caller's job: the subscriber row keeps the one live nonce. Pure.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

_VERSION = "c1"


class InvalidConfirm(ValueError):
    """A confirmation link that must do nothing; ``reason`` is "invalid" or "expired"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ConfirmClaims:
    tenant: str
    subscriber_id: str
    nonce: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _mac(secret: str, signed: str) -> str:
    key = secret.encode()
    if len(key) < 16:
        raise ValueError("the link secret must be at least 16 bytes")
    return _b64(hmac.new(key, signed.encode("utf-8"), hashlib.sha256).digest())


def sign(tenant: str, subscriber_id: str, nonce: str, expires_at: datetime, secret: str) -> str:
    """A URL-safe token that confirms ``subscriber_id`` until ``expires_at``."""
    body = {"t": tenant, "s": subscriber_id, "n": nonce, "e": int(expires_at.timestamp())}
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    signed = f"{_VERSION}.{payload}"
    return f"{signed}.{_mac(secret, signed)}"


def verify(token: str, secret: str, now: datetime) -> ConfirmClaims:
    """The claims of a genuine, unexpired token, or InvalidConfirm."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != _VERSION or len(token) > 1024:
        raise InvalidConfirm("invalid")
    signed = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_mac(secret, signed), parts[2]):
        raise InvalidConfirm("invalid")
    try:
        raw = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        claims = ConfirmClaims(
            tenant=str(raw["t"]),
            subscriber_id=str(raw["s"]),
            nonce=str(raw["n"]),
            expires_at=datetime.fromtimestamp(int(raw["e"]), UTC),
        )
    except (ValueError, KeyError, TypeError, OverflowError, binascii.Error):
        raise InvalidConfirm("invalid") from None
    if claims.expires_at <= now:
        raise InvalidConfirm("expired")
    return claims
