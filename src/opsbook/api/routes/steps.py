"""Runbook steps of an incident: list them, request a run, and decide on one request by its id
(approve exactly as shown, break glass, reject), and read the runs with their results."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from opsbook.api.auth import Principal, require_role, state_of
from opsbook.api.step_schemas import (
    ApproveIn,
    BreakGlassIn,
    DryRunOut,
    RejectIn,
    RunIn,
    RunOut,
    StepOut,
)
from opsbook.core.errors import Conflict
from opsbook.flows import steps as flows
from opsbook.flows.step_inputs import requestable
from opsbook.storage import repos
from opsbook.storage.db import translate_errors
from opsbook.storage.tables import StepRun

router = APIRouter(prefix="/api/v1/incidents/{incident_id}", tags=["steps"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {
        "description": "role too low, or the requester approving alone where a second person is needed"
    },
    404: {"description": "no such incident, step or run request in this tenant"},
    409: {
        "description": "not waiting, expired, changed since the request, a shown_hash that is "
        "not this request's, or your own request without self_approve"
    },
    422: {"description": "missing variables, wrong confirmation or reason (the field says which)"},
}


def _closed(run: StepRun) -> None:
    """After committing a request closed by the attempt, say why (409)."""
    if run.status == "expired":
        raise Conflict(f"request {run.id} expired before approval; request the step again")
    if run.status == "changed":
        raise Conflict(
            f"what you approved is not what would run: the step, its config or its values "
            f"changed since request {run.id} was made; request it again"
        )


@router.get("/steps", response_model=list[StepOut], responses=_ERRORS)
def list_steps(
    request: Request, incident_id: str, p: Principal = Depends(require_role("viewer"))
) -> list[StepOut]:
    """The matched section's steps in order: the gate each meets, its last run, and every
    request waiting for approval with its review (command, variables and sources, target)."""
    st = state_of(request)
    with translate_errors(), st.sessions() as s:
        inc = repos.get_incident(s, p.tenant, incident_id)
        _, svc, steps = flows.outline(s, st.config, st.catalog, inc)
        ids = [o.last_run.id for o in steps if o.last_run] + [
            w.run.id for o in steps for w in o.pending
        ]
        decisions = flows.decisions_of(s, p.tenant, ids)
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
                interactive=o.loc.step.interactive,
                interactive_reason=o.loc.step.interactive_reason,
                bounded=o.loc.step.bounded or None,
                request_variables=requestable(o.loc.step, svc),
                needs_role=o.gate.role if o.gate else None,
                confirmation=o.confirmation,
                second_person=o.second_person,
                last_run=RunOut.of(o.last_run, decisions.get(o.last_run.id, []))
                if o.last_run
                else None,
                pending=[RunOut.of(w.run, decisions.get(w.run.id, []), w) for w in o.pending],
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
    """Run a step: read-only ones at once; gated ones wait for approval, unless you send
    ``approve: true`` and may approve it alone (self-approval)."""
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
            approve=b.approve or b.self_approve,
        )
        return RunOut.of(run, flows.decisions_of(s, p.tenant, [run.id]).get(run.id, []))


@router.get("/runs/{run_id}", response_model=RunOut, responses=_ERRORS)
def get_run(
    request: Request, incident_id: str, run_id: str, p: Principal = Depends(require_role("viewer"))
) -> RunOut:
    """One run request: its review and ``shown_hash`` (what an approval sends back), its
    decisions and result; for a waiting one, whether it would still run exactly as shown."""
    st = state_of(request)
    with translate_errors(), st.sessions() as s:
        run = flows.get_run(s, p.tenant, incident_id, run_id)
        pending = None
        if run.status == flows.WAITING:
            inc = repos.get_incident(s, p.tenant, incident_id)
            pending = flows.pending_of(st.config, st.catalog, inc, run)
        return RunOut.of(run, flows.decisions_of(s, p.tenant, [run.id]).get(run.id, []), pending)


@router.post("/runs/{run_id}/approve", response_model=RunOut, responses=_ERRORS)
def approve_run(
    request: Request,
    incident_id: str,
    run_id: str,
    body: ApproveIn,
    p: Principal = Depends(require_role("responder")),
) -> RunOut:
    """Approve this request exactly as shown (``shown_hash``); it is queued at once. Your own
    request needs ``self_approve: true`` and a gate that lets the requester approve alone."""
    st = state_of(request)
    with translate_errors(), st.sessions.begin() as s:
        run = flows.approve(
            s,
            st.config,
            st.catalog,
            p.tenant,
            incident_id,
            run_id,
            actor=p.actor,
            role=p.role or "viewer",
            now=st.clock.now(),
            shown_hash=body.shown_hash,
            confirmation=body.confirmation,
            comment=body.comment,
            self_approve=body.self_approve,
        )
        out = RunOut.of(run, flows.decisions_of(s, p.tenant, [run.id]).get(run.id, []))
    _closed(run)
    return out


@router.post("/runs/{run_id}/break-glass", response_model=RunOut, responses=_ERRORS)
def break_glass(
    request: Request,
    incident_id: str,
    run_id: str,
    body: BreakGlassIn,
    p: Principal = Depends(require_role("commander")),
) -> RunOut:
    """Approve this request without the second person, with a written reason: the team is
    paged and the timeline says BREAK GLASS (commanders)."""
    st = state_of(request)
    with translate_errors(), st.sessions.begin() as s:
        run = flows.break_glass(
            s,
            st.config,
            st.settings,
            st.catalog,
            p.tenant,
            incident_id,
            run_id,
            actor=p.actor,
            role=p.role or "viewer",
            now=st.clock.now(),
            reason=body.reason,
            shown_hash=body.shown_hash,
            confirmation=body.confirmation,
        )
        out = RunOut.of(run, flows.decisions_of(s, p.tenant, [run.id]).get(run.id, []))
    _closed(run)
    return out


@router.post("/runs/{run_id}/reject", response_model=RunOut, responses=_ERRORS)
def reject_run(
    request: Request,
    incident_id: str,
    run_id: str,
    body: RejectIn | None = None,
    p: Principal = Depends(require_role("responder")),
) -> RunOut:
    """Reject this request (the requester may withdraw their own)."""
    st = state_of(request)
    with translate_errors(), st.sessions.begin() as s:
        run = flows.reject(
            s,
            p.tenant,
            incident_id,
            run_id,
            actor=p.actor,
            role=p.role or "viewer",
            now=st.clock.now(),
            comment=(body or RejectIn()).comment,
        )
        return RunOut.of(run, flows.decisions_of(s, p.tenant, [run.id]).get(run.id, []))


@router.get("/runs", response_model=list[RunOut], responses=_ERRORS)
def list_runs(
    request: Request, incident_id: str, p: Principal = Depends(require_role("viewer"))
) -> list[RunOut]:
    """Every run of this incident's steps, oldest first, with reviews, decisions and results."""
    st = state_of(request)
    with translate_errors(), st.sessions() as s:
        runs = flows.runs_of(s, p.tenant, incident_id)
        decisions = flows.decisions_of(s, p.tenant, [r.id for r in runs])
        return [RunOut.of(r, decisions.get(r.id, [])) for r in runs]
