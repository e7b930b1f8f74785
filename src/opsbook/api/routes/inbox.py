"""Inbox API: the caller's ``inbox://`` messages (the token's name is the user), and the unread count."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from opsbook.api.auth import Principal, require_role, state_of
from opsbook.core.clock import isoformat
from opsbook.flows import inbox
from opsbook.storage.db import translate_errors

router = APIRouter(prefix="/api/v1/inbox", tags=["inbox"])


@router.get("", responses={401: {"description": "missing or unknown token"}})
def get_inbox(
    request: Request,
    unread: Annotated[bool, Query(description="only unread messages")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = inbox.PAGE_SIZE,
    p: Principal = Depends(require_role("viewer")),
) -> dict[str, Any]:
    """``{"unread": n, "total": n, "items": [...]}`` for the user the token was made for
    (``opsbook tokens create --name alice``), newest first; ``?unread=1`` lists unread ones only."""
    st = state_of(request)
    with translate_errors(), st.sessions() as s:
        c = inbox.counts(s, p.tenant, p.name)
        rows = inbox.items(s, p.tenant, p.name, unread_only=unread, limit=limit)
        return {
            "user": p.name,
            "unread": c.unread,
            "total": c.total,
            "items": [
                {
                    "id": r.id,
                    "incident_id": r.incident_id,
                    "severity": r.severity,
                    "title": r.title,
                    "body": r.body,
                    "created_at": isoformat(r.created_at),
                    "read": r.read_at is not None,
                }
                for r in rows
            ],
        }
