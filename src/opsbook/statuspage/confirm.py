"""Signed links that confirm a status-page subscription (double opt-in).

A token is a ``c1`` token of ``core.signed`` (tenant, subscriber, nonce, expiry, signed with
the server's secret): the version is signed too, so an acknowledge link (``v1``) is never a
confirmation link. *Single use* is the caller's job: the subscriber row keeps the one live nonce. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from opsbook.core.signed import BadToken, seal, unseal

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


def sign(tenant: str, subscriber_id: str, nonce: str, expires_at: datetime, secret: str) -> str:
    """A URL-safe token that confirms ``subscriber_id`` until ``expires_at``."""
    body = {"t": tenant, "s": subscriber_id, "n": nonce, "e": int(expires_at.timestamp())}
    return seal(_VERSION, body, secret)


def verify(token: str, secret: str, now: datetime) -> ConfirmClaims:
    """The claims of a genuine, unexpired token, or InvalidConfirm."""
    try:
        raw = unseal(_VERSION, token, secret)
    except BadToken:
        raise InvalidConfirm("invalid") from None
    try:
        claims = ConfirmClaims(
            tenant=str(raw["t"]),
            subscriber_id=str(raw["s"]),
            nonce=str(raw["n"]),
            expires_at=datetime.fromtimestamp(int(raw["e"]), UTC),
        )
    except (ValueError, KeyError, TypeError, OverflowError):
        raise InvalidConfirm("invalid") from None
    if claims.expires_at <= now:
        raise InvalidConfirm("expired")
    return claims
