"""PagerDuty Events API v2 clients authenticate with ``routing_key`` in the body, not a header.

On ``POST /api/v1/events`` a request without ``Authorization`` is authenticated by its
``routing_key``, which must equal an intake token (looked up by its SHA-256, as every token is:
the comparison is of digests, so its time says nothing about the key). The key is never logged
or stored: it is dropped with the request body once the token is found.
"""

from __future__ import annotations

import json

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from opsbook.api.auth import Principal, bearer, principal, require_intake
from opsbook.core.errors import AuthError


async def events_intake(
    request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Principal:
    """The intake token of the ``Authorization`` header, else the body's ``routing_key``.

    Runs before the body is validated, so a request with neither is a 401, not a 422."""
    if creds is not None and creds.credentials:
        return await require_intake(await principal(request, creds))
    try:
        body = json.loads(await request.body())
    except ValueError:
        body = None
    key = body.get("routing_key") if isinstance(body, dict) else None
    return await by_routing_key(request, key if isinstance(key, str) else None)


async def by_routing_key(request: Request, routing_key: str | None) -> Principal:
    """The intake token whose secret is ``routing_key``; AuthError (401) when absent or unknown."""
    if not routing_key or len(routing_key) > 255:
        raise AuthError(
            "send the integration's intake token as `routing_key` in the body or as "
            "`Authorization: Bearer …` (create one with `opsbook tokens create --integration`)",
            field="routing_key",
        )
    creds = HTTPAuthorizationCredentials(scheme="Bearer", credentials=routing_key)
    try:
        return await require_intake(await principal(request, creds))
    except AuthError:
        raise AuthError("unknown or revoked routing_key", field="routing_key") from None
