"""Post-mortems API: read, edit and export an incident's post-mortem; action items across incidents."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from opsbook.api.auth import Principal, require_role, state_of
from opsbook.flows import postmortems as flows
from opsbook.postmortem.markdown import to_markdown
from opsbook.storage.db import translate_errors

router = APIRouter(tags=["postmortems"])
T = TypeVar("T")

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or unknown token"},
    403: {"description": "role too low"},
    404: {"description": "no such incident or action item in this tenant"},
}


class PostmortemEdit(BaseModel):
    """Fields people write; omitted ones stay as they are."""

    model_config = ConfigDict(extra="forbid")
    summary: str | None = Field(None, max_length=20_000)
    root_cause: str | None = Field(None, max_length=50_000)
    contributing_factors: list[Annotated[str, Field(max_length=2_000)]] | None = Field(
        None, max_length=100
    )
    lessons: str | None = Field(None, max_length=50_000)
    status: Literal["draft", "complete"] | None = None


class ActionItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=2_000)
    owner: str | None = Field(None, max_length=128)
    due_date: date | None = None


class ActionItemPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(None, min_length=1, max_length=2_000)
    owner: str | None = Field(None, max_length=128)
    due_date: date | None = None
    status: Literal["open", "done"] | None = None


def _tx(request: Request, fn: Callable[[Session], T]) -> T:
    with translate_errors(), state_of(request).sessions.begin() as s:
        return fn(s)


def _doc(request: Request, s: Session, tenant: str, incident_id: str) -> dict[str, Any]:
    return flows.get_postmortem(s, state_of(request).config, tenant, incident_id).to_dict()


@router.get("/api/v1/incidents/{incident_id}/postmortem", responses=_ERRORS)
def get_postmortem(
    request: Request, incident_id: str, p: Principal = Depends(require_role("viewer"))
) -> dict[str, Any]:
    """The post-mortem: what people wrote, plus impact, UTC timeline and mitigations rebuilt
    from the incident. Before the incident resolves, a preview (`exists` false)."""
    return _tx(request, lambda s: _doc(request, s, p.tenant, incident_id))


@router.put("/api/v1/incidents/{incident_id}/postmortem", responses=_ERRORS)
def edit_postmortem(
    request: Request,
    incident_id: str,
    body: PostmortemEdit,
    p: Principal = Depends(require_role("commander")),
) -> dict[str, Any]:
    """Edit summary, root cause, contributing factors, lessons or status (commander)."""
    now = state_of(request).clock.now()

    def run(s: Session) -> dict[str, Any]:
        flows.edit(s, p.tenant, incident_id, p.actor, now, body.model_dump(exclude_unset=True))
        return _doc(request, s, p.tenant, incident_id)

    return _tx(request, run)


@router.get(
    "/api/v1/incidents/{incident_id}/postmortem.md",
    response_class=PlainTextResponse,
    responses={**_ERRORS, 200: {"content": {"text/markdown": {}}}},
)
def export_postmortem(
    request: Request, incident_id: str, p: Principal = Depends(require_role("viewer"))
) -> PlainTextResponse:
    """The post-mortem as Markdown, times in UTC."""
    cfg = state_of(request).config
    text = _tx(request, lambda s: to_markdown(flows.get_postmortem(s, cfg, p.tenant, incident_id)))
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")


@router.post(
    "/api/v1/incidents/{incident_id}/postmortem/action-items", status_code=201, responses=_ERRORS
)
def add_action_item(
    request: Request,
    incident_id: str,
    body: ActionItemIn,
    p: Principal = Depends(require_role("commander")),
) -> dict[str, Any]:
    """Add an action item (owner, due date); it starts open."""
    now = state_of(request).clock.now()
    return _tx(
        request,
        lambda s: flows.add_action_item(
            s,
            p.tenant,
            incident_id,
            p.actor,
            now,
            title=body.title,
            owner=body.owner,
            due_date=body.due_date,
        ).to_dict(),
    )


@router.get("/api/v1/action-items", responses=_ERRORS)
def list_action_items(
    request: Request,
    status: Annotated[Literal["open", "done"] | None, Query()] = None,
    owner: Annotated[str | None, Query(max_length=128)] = None,
    p: Principal = Depends(require_role("viewer")),
) -> list[dict[str, Any]]:
    """Action items across the tenant's incidents, soonest due first."""
    return _tx(
        request,
        lambda s: [
            a.to_dict() for a in flows.list_action_items(s, p.tenant, status=status, owner=owner)
        ],
    )


@router.patch("/api/v1/action-items/{item_id}", responses=_ERRORS)
def patch_action_item(
    request: Request,
    item_id: str,
    body: ActionItemPatch,
    p: Principal = Depends(require_role("responder")),
) -> dict[str, Any]:
    """Mark done or reopen, change owner, due date or title (responders: owners close their items)."""
    now = state_of(request).clock.now()
    return _tx(
        request,
        lambda s: flows.update_action_item(
            s, p.tenant, item_id, now, body.model_dump(exclude_unset=True)
        ).to_dict(),
    )
