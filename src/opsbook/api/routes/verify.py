"""Runbook verification over the API: each read-only step's latest result and staleness, and a
request to verify now (the worker runs it; only read-only steps ever run)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from opsbook.api.auth import Principal, require_role, state_of
from opsbook.core.errors import NotFound
from opsbook.flows import verify
from opsbook.storage.db import translate_errors

router = APIRouter(prefix="/api/v1", tags=["runbooks"])


class VerifyIn(BaseModel):
    """Which service to verify; all of the caller's tenant when omitted."""

    model_config = ConfigDict(extra="forbid")

    service: str | None = Field(default=None, min_length=1, max_length=128)


def _check_service(request: Request, tenant: str, service: str | None) -> None:
    if service is not None and state_of(request).config.service(tenant, service) is None:
        raise NotFound(f"no service {service!r} in your tenant", field="service")


@router.get("/verifications")
def verifications(
    request: Request,
    service: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    stale_only: Annotated[bool, Query(description="only steps that are stale")] = False,
    p: Principal = Depends(require_role("viewer")),
) -> dict[str, Any]:
    """Every verifiable step of the tenant's runbooks (or one service's): its last verification,
    when it last passed, and whether it is stale (not passed within verification.stale_after)."""
    _check_service(request, p.tenant, service)
    st = state_of(request)
    config = st.config
    items = verify.targets(config, st.catalog, tenant=p.tenant, service=service)
    with translate_errors(), st.sessions() as s:
        found = verify.states(s, items, st.clock.now(), config.verification.stale_after)
    steps = [verify.state_json(x) for x in found if not stale_only or x.stale]
    return {
        "stale_after_seconds": int(config.verification.stale_after.total_seconds()),
        "steps": steps,
        "stale": sum(1 for x in found if x.stale),
        "failing": sum(1 for x in found if x.last is not None and x.last.status == "failed"),
    }


@router.post("/verifications", status_code=202)
def request_verification(
    request: Request, body: VerifyIn, p: Principal = Depends(require_role("commander"))
) -> dict[str, Any]:
    """Queue a verification now; the worker runs the read-only steps and stores the results."""
    _check_service(request, p.tenant, body.service)
    st = state_of(request)
    with translate_errors(), st.sessions.begin() as s:
        job = verify.request_job(s, p.tenant, body.service, p.actor, st.clock.now())
    return {"job": job, "service": body.service, "status": "queued"}
