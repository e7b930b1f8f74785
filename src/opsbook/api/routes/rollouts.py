"""Canary rollouts over the API: start, list, show, pause/resume, promote, abort."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from opsbook.api.auth import Principal, require_role, state_of
from opsbook.core.errors import NotFound
from opsbook.flows import rollouts
from opsbook.storage.db import translate_errors

router = APIRouter(prefix="/api/v1", tags=["rollouts"])
RolloutId = Annotated[str, Path(min_length=1, max_length=40)]


class RolloutIn(BaseModel):
    """Which plan (its name or its service's) and the version to roll out."""

    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1, max_length=128, description="plan name or service name")
    version: str = Field(min_length=1, max_length=128)


def _view(request: Request, tenant: str, row: Any) -> dict[str, Any]:
    try:
        plan = rollouts.plan_of(state_of(request).config, tenant, row.name)
    except NotFound:
        plan = None
    return rollouts.view(row, plan)


@router.get("/rollouts")
def list_rollouts(
    request: Request, p: Principal = Depends(require_role("viewer"))
) -> list[dict[str, Any]]:
    """The tenant's newest rollouts, running ones first in time order of starting."""
    st = state_of(request)
    with translate_errors(), st.sessions() as s:
        return [_view(request, p.tenant, r) for r in rollouts.listing(s, p.tenant)]


@router.post("/rollouts", status_code=201)
def start_rollout(
    request: Request, body: RolloutIn, p: Principal = Depends(require_role("responder"))
) -> dict[str, Any]:
    """Start rolling out ``version``; the worker shifts traffic and judges the gates."""
    st = state_of(request)
    with translate_errors(), st.sessions.begin() as s:
        row = rollouts.start(
            s, st.config, p.tenant, body.service, body.version, p.actor, st.clock.now()
        )
        return _view(request, p.tenant, row)


@router.get("/rollouts/{rollout_id}")
def show_rollout(
    request: Request, rollout_id: RolloutId, p: Principal = Depends(require_role("viewer"))
) -> dict[str, Any]:
    st = state_of(request)
    with translate_errors(), st.sessions() as s:
        return _view(request, p.tenant, rollouts.get(s, p.tenant, rollout_id))


def _act(request: Request, p: Principal, rollout_id: str, action: str) -> dict[str, Any]:
    st = state_of(request)
    now = st.clock.now()
    with translate_errors(), st.sessions.begin() as s:
        if action in ("pause", "resume"):
            row = rollouts.pause(s, p.tenant, rollout_id, p.actor, now, on=action == "pause")
        elif action == "abort":
            row = rollouts.abort(
                s, st.config, p.tenant, rollout_id, p.actor, now, catalog=st.catalog
            )
        else:
            row = rollouts.promote(
                s, st.config, p.tenant, rollout_id, p.actor, now, catalog=st.catalog
            )
        return _view(request, p.tenant, row)


@router.post("/rollouts/{rollout_id}/pause")
def pause_rollout(
    request: Request, rollout_id: RolloutId, p: Principal = Depends(require_role("responder"))
) -> dict[str, Any]:
    """Hold the current step (gates are still judged; a failure still rolls back)."""
    return _act(request, p, rollout_id, "pause")


@router.post("/rollouts/{rollout_id}/resume")
def resume_rollout(
    request: Request, rollout_id: RolloutId, p: Principal = Depends(require_role("responder"))
) -> dict[str, Any]:
    return _act(request, p, rollout_id, "resume")


@router.post("/rollouts/{rollout_id}/abort")
def abort_rollout(
    request: Request, rollout_id: RolloutId, p: Principal = Depends(require_role("responder"))
) -> dict[str, Any]:
    """Traffic back to 0 % now; no incident (a person chose it)."""
    return _act(request, p, rollout_id, "abort")


@router.post("/rollouts/{rollout_id}/promote")
def promote_rollout(
    request: Request, rollout_id: RolloutId, p: Principal = Depends(require_role("commander"))
) -> dict[str, Any]:
    """Skip the remaining steps and gates: 100 % now. A commander's decision."""
    return _act(request, p, rollout_id, "promote")


@router.get("/services/{service}/annotations")
def service_annotations(
    request: Request,
    service: Annotated[str, Path(min_length=1, max_length=128)],
    p: Principal = Depends(require_role("viewer")),
) -> list[dict[str, Any]]:
    """The service's timeline of changes as annotations (newest first; Grafana's JSON/Infinity
    data sources read ``time``/``timeEnd`` in ms, ``title``, ``text`` and ``tags``): each rollout,
    from start to its end, with what became of it."""
    st = state_of(request)
    if st.config.service(p.tenant, service) is None:
        raise NotFound(f"no service {service!r} in your tenant", field="service")
    with translate_errors(), st.sessions() as s:
        rows = [r for r in rollouts.listing(s, p.tenant, limit=200) if r.service == service]
        return [rollouts.annotation(r) for r in rows]
