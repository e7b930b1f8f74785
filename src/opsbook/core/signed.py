"""Signed tokens for links that work without a login: ``<version>.<payload>.<mac>``.

The payload is base64url JSON; the MAC is HMAC-SHA256 over ``<version>.<payload>`` with the
server's secret, compared in constant time. The version is signed too, so a token made for one
purpose (``v1`` acknowledge links, ``c1`` subscription confirmations) never passes for another.
Expiry and single use are the callers' rules. Pure.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

MAX_TOKEN = 1024
"""Longest token read at all (links are short; anything longer is not ours)."""


class BadToken(ValueError):
    """A token that must do nothing: ``reason`` is "malformed" or "bad signature"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _key(secret: str | bytes) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    if len(key) < 16:
        raise ValueError("the link secret must be at least 16 bytes")
    return key


def _mac(key: bytes, signed: str) -> bytes:
    return _b64(hmac.new(key, signed.encode("utf-8"), hashlib.sha256).digest()).encode()


def seal(version: str, body: dict[str, Any], secret: str | bytes) -> str:
    """A URL-safe token carrying ``body``, signed for ``version``."""
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    signed = f"{version}.{payload}"
    return f"{signed}.{_mac(_key(secret), signed).decode()}"


def unseal(version: str, token: str, secret: str | bytes) -> dict[str, Any]:
    """The body of a genuine ``version`` token, or :class:`BadToken`."""
    key = _key(secret)
    parts = token.split(".")
    if len(token) > MAX_TOKEN or len(parts) != 3 or parts[0] != version:
        raise BadToken("malformed")
    if not hmac.compare_digest(_mac(key, f"{parts[0]}.{parts[1]}"), parts[2].encode("utf-8")):
        raise BadToken("bad signature")
    try:
        body = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        raise BadToken("malformed") from None
    if not isinstance(body, dict):
        raise BadToken("malformed")
    return body
