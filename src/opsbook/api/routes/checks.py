"""Checks and SLOs API: each of the caller's tenant's checks with its state, last result and
latency history, and each SLO with compliance, budget remaining and burn rates."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from opsbook.api.auth import Principal, require_role, state_of
from opsbook.flows.checks import check_views, state_rows
from opsbook.flows.slos import slo_views

router = APIRouter(prefix="/api/v1", tags=["checks"])


class RunOut(BaseModel):
    at: str
    status: str
    latency_ms: float


class CheckOut(BaseModel):
    service: str
    name: str
    kind: str
    alert: str
    severity: str
    every_seconds: float
    for_seconds: float
    status: str
    since: str | None
    last_run_at: str | None
    last_result: dict[str, Any] | None
    history: list[RunOut]


class SloOut(BaseModel):
    service: str
    name: str
    sli: str
    objective: float
    window: str
    status: str
    compliance: float | None
    budget_remaining: float | None
    burn_rates: dict[str, float]
    windows: list[dict[str, Any]]
    error: str | None
    evaluated_at: str | None


@router.get("/checks", response_model=list[CheckOut])
def list_checks(request: Request, p: Principal = Depends(require_role("viewer"))) -> list[CheckOut]:
    """The tenant's health checks: state (unknown, ok, failing, firing, recovering), the last
    result and the latency of the last runs, oldest first."""
    st = state_of(request)
    with st.sessions() as s:
        rows = state_rows(s, p.tenant, "check")
    return [
        CheckOut(
            **{k: v for k, v in c.items() if k not in ("tenant", "every", "for", "history")},
            every_seconds=c["every"],
            for_seconds=c["for"],
            history=[RunOut(**h) for h in c["history"]],
        )
        for c in check_views(st.config, rows, p.tenant)
    ]


@router.get("/slos", response_model=list[SloOut])
def list_slos(request: Request, p: Principal = Depends(require_role("viewer"))) -> list[SloOut]:
    """The tenant's SLOs as last evaluated: compliance and budget remaining over the SLO window,
    burn rate over each alert window, and the action (page, ticket) in force."""
    st = state_of(request)
    with st.sessions() as s:
        rows = state_rows(s, p.tenant, "slo")
    return [
        SloOut(**{k: v for k, v in v.items() if k != "tenant"})
        for v in slo_views(st.config, rows, p.tenant)
    ]
