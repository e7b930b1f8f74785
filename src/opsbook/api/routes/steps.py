"""Runbook steps of an incident: list them, run, approve, reject, and read the runs' results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from opsbook.api.auth import Principal, require_role, state_of
from opsbook.core.errors import Conflict
from opsbook.flows import steps as flows
from opsbook.storage import repos
from opsbook.storage.db import translate_errors
from opsbook.storage.tables import StepRun

router = APIRouter(prefix="/api/v1/incidents/{incident_id}", tags=["steps"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {
        "description": "role too low, or the requester approving alone where a second person is needed"
    },
    404: {"description": "no such incident or step in this tenant"},
    409: {"description": "nothing to approve, expired, or the step changed since the request"},
    422: {"description": "missing variables or wrong confirmation (the field says which)"},
}


class RunIn(BaseModel):
    variables: dict[str, str] = Field(
        default_factory=dict,
        max_length=50,
        description="values for variables the service does not define",
    )
    dry_run: bool = Field(default=False, description="only show the resolved command and the gate")
    confirmation: str | None = Field(
        default=None, max_length=500, description="the step's name, for destructive steps"
    )


class ApproveIn(BaseModel):
    confirmation: str | None = Field(default=None, max_length=500)
    comment: str = Field(default="", max_length=2000)


class RejectIn(BaseModel):
    comment: str = Field(default="", max_length=2000)


class RunOut(BaseModel):
    id: str
    step: int
    title: str
    kind: str
    safety: str
    command: str
    status: str
    automatic: bool
    requested_by: str
    requested_at: datetime
    approval_expires_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None

    @classmethod
    def of(cls, r: StepRun) -> RunOut:
        return cls(
            id=r.id,
            step=r.step_index,
            title=r.step_title,
            kind=r.kind,
            safety=r.safety,
            command=r.command,
            status=r.status,
            automatic=r.automatic,
            requested_by=r.requested_by,
            requested_at=r.requested_at,
            approval_expires_at=r.approval_expires_at,
            started_at=r.started_at,
            finished_at=r.finished_at,
            result=r.result,
        )


class StepOut(BaseModel):
    step: int
    phase: str
    title: str
    text: str
    executable: bool
    kind: str
    safety: str
    reason: str
    variables: list[str]
    needs_role: str | None
    confirmation: str | None
    last_run: RunOut | None


class DryRunOut(BaseModel):
    step: int
    command: str
    kind: str
    safety: str
    reason: str
    needs_role: str | None
    confirmation: str | None


@router.get("/steps", response_model=list[StepOut], responses=_ERRORS)
def list_steps(
    request: Request, incident_id: str, p: Principal = Depends(require_role("viewer"))
) -> list[StepOut]:
    """The matched section's steps in order, with the gate each meets and its last run."""
    st = state_of(request)
    with translate_errors(), st.sessions() as s:
        inc = repos.get_incident(s, p.tenant, incident_id)
        _, _, steps = flows.outline(s, st.config, st.catalog, inc)
        return [
            StepOut(
                step=o.loc.index,
                phase=o.loc.phase,
                title=o.loc.step.title,
                text=o.loc.step.text,
                executable=o.loc.step.executable,
                kind=o.loc.step.kind,
                safety=o.loc.step.safety,
                reason=o.loc.step.reason,
                variables=list(o.loc.step.variables),
                needs_role=o.gate.role if o.gate else None,
                confirmation=o.confirmation,
                last_run=RunOut.of(o.last_run) if o.last_run else None,
            )
            for o in steps
        ]


@router.post(
    "/steps/{step}/run", status_code=202, response_model=RunOut | DryRunOut, responses=_ERRORS
)
def run_step(
    request: Request,
    incident_id: str,
    step: int,
    body: RunIn | None = None,
    p: Principal = Depends(require_role("responder")),
) -> RunOut | DryRunOut:
    """Run a step: read-only ones at once; gated ones wait for approval (or run when you may approve alone)."""
    st = state_of(request)
    b = body or RunIn()
    with translate_errors(), st.sessions.begin() as s:
        if b.dry_run:
            inc = repos.get_incident(s, p.tenant, incident_id)
            return DryRunOut(**flows.dry_run(st.config, st.catalog, inc, step, b.variables))
        run = flows.request_run(
            s,
            st.config,
            st.catalog,
            p.tenant,
            incident_id,
            step,
            actor=p.actor,
            role=p.role or "viewer",
            variables=b.variables,
            now=st.clock.now(),
            confirmation=b.confirmation,
        )
        return RunOut.of(run)


@router.post("/steps/{step}/approve", response_model=RunOut, responses=_ERRORS)
def approve_step(
    request: Request,
    incident_id: str,
    step: int,
    body: ApproveIn | None = None,
    p: Principal = Depends(require_role("responder")),
) -> RunOut:
    """Approve the run of this step that waits for approval; it is queued at once."""
    st = state_of(request)
    b = body or ApproveIn()
    with translate_errors(), st.sessions.begin() as s:
        run = flows.approve(
            s,
            st.config,
            st.catalog,
            p.tenant,
            incident_id,
            step,
            actor=p.actor,
            role=p.role or "viewer",
            now=st.clock.now(),
            confirmation=b.confirmation,
            comment=b.comment,
        )
        out = RunOut.of(run)
    if out.status == "expired":
        raise Conflict("this request expired before approval; request the step again")
    if out.status == "changed":
        raise Conflict("the step or its variables changed since the request; request it again")
    return out


@router.post("/steps/{step}/reject", response_model=RunOut, responses=_ERRORS)
def reject_step(
    request: Request,
    incident_id: str,
    step: int,
    body: RejectIn | None = None,
    p: Principal = Depends(require_role("responder")),
) -> RunOut:
    st = state_of(request)
    with translate_errors(), st.sessions.begin() as s:
        run = flows.reject(
            s,
            p.tenant,
            incident_id,
            step,
            actor=p.actor,
            role=p.role or "viewer",
            now=st.clock.now(),
            comment=(body or RejectIn()).comment,
        )
        return RunOut.of(run)


@router.get("/runs", response_model=list[RunOut], responses=_ERRORS)
def list_runs(
    request: Request, incident_id: str, p: Principal = Depends(require_role("viewer"))
) -> list[RunOut]:
    """Every run of this incident's steps, oldest first, with results."""
    st = state_of(request)
    with translate_errors(), st.sessions() as s:
        return [RunOut.of(r) for r in flows.runs_of(s, p.tenant, incident_id)]
