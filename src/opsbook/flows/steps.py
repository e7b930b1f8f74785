"""Running runbook steps for an incident: request, gate, approve or reject, execute, record.

Read-only steps run at once. Mutating ones need an approval by a permitted role; destructive and
unknown ones a stronger role and the step's name typed as confirmation. An approval is bound to
the exact command and its resolved variables (a hash), expires, may require a second person, and
is checked again right before execution. Everything lands on the incident's timeline.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.config.models import Config, ExecutionPolicy, GatePolicy, Service
from opsbook.core.errors import Conflict, InputError, NotFound, PermissionDenied
from opsbook.core.ids import new_id
from opsbook.executors import ExecContext, MissingVariables, resolve
from opsbook.flows import ingest
from opsbook.flows.runbook_catalog import RunbookCatalog
from opsbook.incidents.models import EntryKind
from opsbook.runbooks.models import Runbook, Section, Step
from opsbook.storage import jobs, repos
from opsbook.storage.tables import Approval, Incident, StepRun

ROLE_RANK = {"viewer": 0, "responder": 1, "commander": 2, "admin": 3}
STEP_JOB = "step_run"
DIAGNOSE_JOB = ingest.DIAGNOSE_JOB
FINAL = (
    "ok",
    "failed",
    "error",
    "timeout",
    "unavailable",
    "rejected",
    "expired",
    "interrupted",
    "changed",
)


@dataclass(frozen=True)
class Located:
    """A step of an incident's matched section, with where it came from."""

    runbook: Runbook
    section: Section
    index: int
    step: Step
    phase: str


def section_of(catalog: RunbookCatalog, inc: Incident) -> tuple[Runbook, Section]:
    if inc.runbook_id is None or inc.section_id is None:
        raise NotFound(
            "this incident has no runbook section; bind one with an **Alert:** field in a runbook"
        )
    rb = catalog.get(inc.tenant, inc.runbook_id)
    section = rb.section(inc.section_id) if rb else None
    if rb is None or section is None:
        raise NotFound(
            f"the runbook section {inc.section_heading!r} is no longer loaded (file changed?)"
        )
    return rb, section


def locate(catalog: RunbookCatalog, inc: Incident, index: int) -> Located:
    """Step ``index`` (1-based, in document order) of the incident's section."""
    rb, section = section_of(catalog, inc)
    numbered = [(p.phase, st) for p in section.phases for st in p.steps]
    if not 1 <= index <= len(numbered):
        raise NotFound(f"no step {index}: the section has steps 1–{len(numbered)}", field="step")
    phase, step = numbered[index - 1]
    return Located(rb, section, index, step, phase)


def _secret_value(ref_env: str | None, ref_file: str | None) -> str | None:
    if ref_env:
        return os.environ.get(ref_env)
    if ref_file:
        try:
            return Path(ref_file).read_text(encoding="utf-8").strip()
        except OSError:
            return None
    return None


def context_for(
    svc: Service, given: Mapping[str, str], timeout: timedelta | None = None
) -> ExecContext:
    """Variables from the service (people's values win for names the service leaves undefined)."""
    variables = {**{k: v for k, v in given.items() if k not in svc.variables}, **svc.variables}
    secrets = {}
    for name, ref in svc.secrets.items():
        value = _secret_value(ref.env, ref.file)
        if value is not None:
            secrets[name] = SecretStr(value)
    return ExecContext(
        variables=variables,
        secrets=secrets,
        allowed_hosts=frozenset(svc.execution.allowed_hosts),
        timeout=(timeout or svc.execution.step_timeout).total_seconds(),
    )


def service_of(config: Config, inc: Incident) -> Service:
    svc = config.service(inc.tenant, inc.service)
    if svc is None:
        raise NotFound(f"service {inc.service!r} is no longer in the configuration")
    return svc


def binding(step: Step, display: str, variables: Mapping[str, str]) -> str:
    """What an approval is bound to: the step's text, its resolved command, the variables given."""
    blob = json.dumps([step.text, display, sorted(variables.items())], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def confirmation_phrase(loc: Located) -> str:
    """What a person types to approve a destructive step: its title, else its kind and number."""
    return loc.step.title.strip() or f"{loc.step.kind} step {loc.index}"


def needs_confirmation(gate: GatePolicy, safety: str) -> bool:
    return gate.confirm or safety in ("destructive", "unknown")


def resolve_display(loc: Located, ctx: ExecContext) -> str:
    """The command as it will run, secrets masked; InputError naming the missing variables."""
    try:
        return resolve(loc.step, ctx).display
    except MissingVariables as exc:
        names = ", ".join(exc.names)
        raise InputError(
            f"step {loc.index} needs values for: {names}; send them as variables", field="variables"
        ) from None


def _entry(
    s: Session, inc: Incident, now: datetime, actor: str, message: str, data: dict[str, Any]
) -> None:
    repos.add_entry(s, inc, now, actor, EntryKind.STEP, message, data)


def describe(run: StepRun) -> str:
    """How the timeline names a run: its step number, kind and safety."""
    return f"step {run.step_index} ({run.kind}, {run.safety})"


def _enqueue(s: Session, run: StepRun, now: datetime) -> None:
    run.status = "queued"
    jobs.enqueue(s, run.tenant, STEP_JOB, {"run_id": run.id}, now)


def _approve(
    s: Session, inc: Incident, run: StepRun, actor: str, role: str, now: datetime, comment: str
) -> None:
    s.add(
        Approval(
            tenant=run.tenant,
            step_run_id=run.id,
            actor=actor,
            role=role,
            decision="approved",
            binding=run.binding,
            at=now,
            comment=comment,
        )
    )
    _enqueue(s, run, now)
    _entry(
        s,
        inc,
        now,
        actor,
        f"{actor} approved {describe(run)}: {run.command}",
        {"run_id": run.id, "decision": "approved"},
    )


def dry_run(
    config: Config, catalog: RunbookCatalog, inc: Incident, index: int, variables: Mapping[str, str]
) -> dict[str, Any]:
    """The fully resolved command and the gate it would meet, nothing run or stored."""
    loc = locate(catalog, inc, index)
    svc = service_of(config, inc)
    ctx = context_for(svc, variables)
    gate = svc.execution.gate(loc.step.safety, loc.runbook.path)
    return {
        "step": index,
        "command": resolve_display(loc, ctx),
        "kind": loc.step.kind,
        "safety": loc.step.safety,
        "reason": loc.step.reason,
        "needs_role": gate.role if gate else None,
        "confirmation": confirmation_phrase(loc)
        if gate and needs_confirmation(gate, loc.step.safety)
        else None,
    }


def request_run(
    s: Session,
    config: Config,
    catalog: RunbookCatalog,
    tenant: str,
    incident_id: str,
    index: int,
    *,
    actor: str,
    role: str,
    variables: Mapping[str, str],
    now: datetime,
    confirmation: str | None = None,
    automatic: bool = False,
    enqueue: bool = True,
) -> StepRun:
    """Ask to run a step. Read-only: queued at once. Gated: queued when the asker may approve it
    alone (role high enough, no second person, confirmation typed when needed), else awaits approval."""
    inc = repos.get_incident(s, tenant, incident_id)
    loc = locate(catalog, inc, index)
    if not loc.step.executable:
        raise InputError(
            f"step {index} is an instruction for a person, not a command", field="step"
        )
    svc = service_of(config, inc)
    policy: ExecutionPolicy = svc.execution
    display = resolve_display(loc, context_for(svc, variables))
    gate = policy.gate(loc.step.safety, loc.runbook.path)
    run = StepRun(
        id=new_id("run"),
        tenant=tenant,
        incident_id=inc.id,
        runbook_id=inc.runbook_id or "",
        section_id=loc.section.id,
        step_index=index,
        step_title=loc.step.title,
        kind=loc.step.kind,
        safety=loc.step.safety,
        command=display,
        binding=binding(loc.step, display, variables),
        variables=dict(variables),
        status="awaiting_approval",
        automatic=automatic,
        requested_by=actor,
        requested_at=now,
        approval_expires_at=now + policy.approval_ttl if gate else None,
    )
    s.add(run)
    s.flush()
    who = "opsbook" if automatic else actor
    if gate is None:
        _entry(s, inc, now, who, f"{who} ran {describe(run)}: {display}", {"run_id": run.id})
        if enqueue:
            _enqueue(s, run, now)
        else:
            run.status = "queued"  # the caller runs it itself, in order (automatic diagnostics)
        return run
    _entry(
        s,
        inc,
        now,
        actor,
        f"{actor} asked to run {describe(run)}: {display}; needs approval by a "
        f"{gate.role}" + (" (a second person)" if gate.second_person else ""),
        {"run_id": run.id, "needs_role": gate.role, "second_person": gate.second_person},
    )
    may_self_approve = ROLE_RANK.get(role, -1) >= ROLE_RANK[gate.role] and not gate.second_person
    typed_ok = not needs_confirmation(gate, loc.step.safety) or confirmation == confirmation_phrase(
        loc
    )
    if may_self_approve and typed_ok and not automatic:
        _approve(s, inc, run, actor, role, now, "approved when requested")
    return run


def _pending(s: Session, tenant: str, incident_id: str, index: int) -> StepRun:
    q = (
        select(StepRun)
        .where(
            StepRun.tenant == tenant,
            StepRun.incident_id == incident_id,
            StepRun.step_index == index,
            StepRun.status == "awaiting_approval",
        )
        .order_by(StepRun.requested_at.desc())
        .limit(1)
    )
    run = s.scalars(q).first()
    if run is None:
        raise Conflict(f"step {index} has no run waiting for approval; request a run first")
    return run


def approve(
    s: Session,
    config: Config,
    catalog: RunbookCatalog,
    tenant: str,
    incident_id: str,
    index: int,
    *,
    actor: str,
    role: str,
    now: datetime,
    confirmation: str | None = None,
    comment: str = "",
) -> StepRun:
    """Approve the waiting run of step ``index``; every rule of the gate is checked here.

    A request that expired or whose step changed is closed (status ``expired``/``changed``, kept
    on the timeline) and returned: the caller commits that, then tells the person why.
    """
    inc = repos.get_incident(s, tenant, incident_id)
    run = _pending(s, tenant, incident_id, index)
    svc = service_of(config, inc)
    loc = locate(catalog, inc, index)
    gate = svc.execution.gate(run.safety, loc.runbook.path)
    if gate is None:
        raise Conflict("read-only steps need no approval")
    if ROLE_RANK.get(role, -1) < ROLE_RANK[gate.role]:
        raise PermissionDenied(
            f"approving a {run.safety} step needs the {gate.role} role; you are {role}"
        )
    if gate.second_person and actor == run.requested_by:
        raise PermissionDenied(
            "this step needs a second person: someone other than the requester must approve"
        )
    if run.approval_expires_at is not None and now > run.approval_expires_at:
        run.status = "expired"
        _entry(
            s,
            inc,
            now,
            actor,
            f"the request for {describe(run)} expired before approval",
            {"run_id": run.id},
        )
        return run
    if needs_confirmation(gate, run.safety) and (confirmation or "").strip() != confirmation_phrase(
        loc
    ):
        raise InputError(
            f"type the step's name to confirm: {confirmation_phrase(loc)!r}", field="confirmation"
        )
    display = resolve_display(loc, context_for(svc, run.variables))
    if binding(loc.step, display, run.variables) != run.binding:
        run.status = "changed"
        _entry(
            s,
            inc,
            now,
            actor,
            f"{describe(run)} changed since it was requested; not run",
            {"run_id": run.id},
        )
        return run
    _approve(s, inc, run, actor, role, now, comment)
    return run


def reject(
    s: Session,
    tenant: str,
    incident_id: str,
    index: int,
    *,
    actor: str,
    role: str,
    now: datetime,
    comment: str = "",
) -> StepRun:
    inc = repos.get_incident(s, tenant, incident_id)
    run = _pending(s, tenant, incident_id, index)
    run.status = "rejected"
    run.finished_at = now
    s.add(
        Approval(
            tenant=tenant,
            step_run_id=run.id,
            actor=actor,
            role=role,
            decision="rejected",
            binding=run.binding,
            at=now,
            comment=comment,
        )
    )
    _entry(
        s,
        inc,
        now,
        actor,
        f"{actor} rejected {describe(run)}" + (f": {comment}" if comment else ""),
        {"run_id": run.id, "decision": "rejected"},
    )
    return run


@dataclass(frozen=True)
class Outlined:
    """A step of an incident's section with the gate it meets and its latest run."""

    loc: Located
    gate: GatePolicy | None
    confirmation: str | None
    last_run: StepRun | None


def outline(
    s: Session, config: Config, catalog: RunbookCatalog, inc: Incident
) -> tuple[Section, Service, list[Outlined]]:
    """Every step of the incident's section in order, for the API and the web page alike."""
    rb, section = section_of(catalog, inc)
    svc = service_of(config, inc)
    last = {r.step_index: r for r in runs_of(s, inc.tenant, inc.id)}
    out = []
    numbered = ((ph.phase, st) for ph in section.phases for st in ph.steps)
    for index, (phase, step) in enumerate(numbered, 1):
        loc = Located(rb, section, index, step, phase)
        gate = svc.execution.gate(step.safety, rb.path) if step.executable else None
        confirm = (
            confirmation_phrase(loc) if gate and needs_confirmation(gate, step.safety) else None
        )
        out.append(Outlined(loc, gate, confirm, last.get(index)))
    return section, svc, out


def runs_of(s: Session, tenant: str, incident_id: str) -> list[StepRun]:
    repos.get_incident(s, tenant, incident_id)
    q = (
        select(StepRun)
        .where(StepRun.tenant == tenant, StepRun.incident_id == incident_id)
        .order_by(StepRun.requested_at, StepRun.id)
    )
    return list(s.scalars(q))


def plan_automatic(
    s: Session,
    config: Config,
    catalog: RunbookCatalog,
    tenant: str,
    incident_id: str,
    phases: list[str],
    now: datetime,
) -> tuple[list[str], float]:
    """Create queued runs for the read-only steps of ``phases``, in order; and the time budget.

    A step whose variables nobody defined is skipped with a timeline note naming them.
    """
    inc = repos.get_incident(s, tenant, incident_id)
    try:
        _, section = section_of(catalog, inc)
        svc = service_of(config, inc)
    except NotFound as exc:
        _entry(s, inc, now, "opsbook", f"automatic steps skipped: {exc.detail}", {})
        return [], 0.0
    run_ids: list[str] = []
    numbered = [(p.phase, st) for p in section.phases for st in p.steps]
    for index, (phase, step) in enumerate(numbered, 1):
        if phase not in phases or not step.executable or step.safety != "read-only":
            continue
        try:
            run = request_run(
                s,
                config,
                catalog,
                tenant,
                incident_id,
                index,
                actor="opsbook",
                role="viewer",
                variables={},
                now=now,
                automatic=True,
                enqueue=False,
            )
        except InputError as exc:
            _entry(
                s,
                inc,
                now,
                "opsbook",
                f"step {index} ({step.kind}) skipped: {exc.detail}",
                {"step": index, "status": "needs_input"},
            )
            continue
        run_ids.append(run.id)
    return run_ids, svc.execution.budget.total_seconds()
