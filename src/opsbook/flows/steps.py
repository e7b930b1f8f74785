"""Running runbook steps for an incident: request, gate, approve or reject, execute, record.

Read-only steps run at once. Mutating ones need an approval by a permitted role; destructive and
unknown ones a stronger role, the step's name typed as confirmation and, by default, a second
person (``execution.four_eyes``). A request gets an id (``run_…``) and a review: the exact
command, every variable with its source, the target and the safety reason
(``flows.step_review``). An approval names the run id and the hash of the review the approver
saw; it expires, is recomputed right before approving and checked again right before execution.
Approving one's own request is an explicit act (``self_approve``); a commander may break glass
with a written reason, which pages the team. Everything lands on the incident's timeline.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from opsbook.config.models import Config, ExecutionPolicy, GatePolicy, Service
from opsbook.core.errors import Conflict, InputError, NotFound, OpsbookError, PermissionDenied
from opsbook.core.ids import new_id
from opsbook.core.settings import Settings
from opsbook.executors import ExecContext, MissingVariables, resolve
from opsbook.flows import audit, ingest
from opsbook.flows import break_glass as glass
from opsbook.flows.runbook_catalog import RunbookCatalog
from opsbook.flows.step_inputs import check_request_variables, refusal
from opsbook.flows.step_review import Review, review
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
WAITING = "awaiting_approval"
MIN_BREAK_GLASS_REASON = 10


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
    if step.interactive and step.bounded:  # what runs is the form that ends by itself
        step = replace(
            step,
            text=step.bounded,
            interactive=False,
            reason=f"{step.reason}; run as `{step.bounded}` ({step.interactive_reason} as written)",
        )
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


def _missing(loc: Located, names: Sequence[str], svc: Service | None) -> InputError:
    """Say which missing values a run request may send and which only the config may set."""
    if svc is None:
        ask, config_only = list(names), []
    else:
        ask = [n for n in names if refusal(n, loc.step, svc) is None]
        config_only = [n for n in names if n not in ask]
    parts = []
    if ask:
        parts.append(f"send {', '.join(ask)} as variables")
    if config_only:
        parts.append(
            f"{', '.join(config_only)} must be set in the service's config (variables or "
            "secrets), a run request cannot give it"
        )
    return InputError(
        f"step {loc.index} needs values for: {', '.join(names)}; " + "; ".join(parts),
        field="variables",
    )


def resolve_display(loc: Located, ctx: ExecContext, svc: Service | None = None) -> str:
    """The command as it will run, secrets masked; InputError naming the missing variables."""
    try:
        return resolve(loc.step, ctx).display
    except MissingVariables as exc:
        raise _missing(loc, exc.names, svc) from None


def review_of(svc: Service, loc: Located, run_id: str, variables: Mapping[str, str]) -> Review:
    """What an approver is shown for running ``loc`` with ``variables`` (``flows.step_review``)."""
    ctx = context_for(svc, variables)
    try:
        return review(loc.step, loc.index, run_id, ctx, set(svc.variables))
    except MissingVariables as exc:
        raise _missing(loc, exc.names, svc) from None


def stored_review(run: StepRun) -> Review | None:
    """The review kept with the request (None for requests made before reviews existed)."""
    return Review.from_dict(run.review) if run.review else None


def current_review(
    config: Config, catalog: RunbookCatalog, inc: Incident, run: StepRun
) -> Review | None:
    """The review of ``run`` recomputed from the current config and runbook, or None when the
    request can no longer run as it was asked for (step gone or moved, config or values changed)."""
    try:
        loc = locate(catalog, inc, run.step_index)
        svc = service_of(config, inc)
        if loc.section.id != run.section_id or (inc.runbook_id or "") != run.runbook_id:
            return None
        display = resolve_display(loc, context_for(svc, run.variables))
        fresh = review_of(svc, loc, run.id, run.variables)
    except OpsbookError:
        return None
    if (
        binding(loc.step, display, run.variables) != run.binding
        or fresh.shown_hash != run.shown_hash
    ):
        return None
    return fresh


def _entry(
    s: Session, inc: Incident, now: datetime, actor: str, message: str, data: dict[str, Any]
) -> None:
    repos.add_entry(s, inc, now, actor, EntryKind.STEP, message, data)


def describe(run: StepRun) -> str:
    """How the timeline names a run: its step number, kind and safety."""
    return f"step {run.step_index} ({run.kind}, {run.safety})"


def _enqueue(s: Session, run: StepRun, now: datetime) -> None:
    run.status = "queued"
    jobs.enqueue(s, run.tenant, STEP_JOB, {"run_id": run.id}, now, incident_id=run.incident_id)


def _claim(s: Session, run: StepRun, status: str) -> None:
    """Move a waiting request to ``status`` unless someone decided on it first (compare-and-set)."""
    done = s.execute(
        update(StepRun)
        .where(StepRun.id == run.id, StepRun.status == WAITING)
        .values(status=status)
        .execution_options(synchronize_session="fetch")
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"someone decided on request {run.id} first; look at it again")
    run.status = status


def _approve(
    s: Session,
    inc: Incident,
    run: StepRun,
    actor: str,
    role: str,
    now: datetime,
    comment: str,
    *,
    shown_hash: str | None,
    self_approved: bool = False,
    break_glass: bool = False,
) -> None:
    """Record the approval of exactly ``shown_hash`` and queue the run."""
    _claim(s, run, "queued")
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
            shown_hash=shown_hash,
            self_approved=self_approved,
            break_glass=break_glass,
        )
    )
    _enqueue(s, run, now)
    audit.record(
        s, at=now, tenant=run.tenant, action="step.break_glass" if break_glass else "step.approved",
        actor=actor, target=run.id,
        data={"incident": inc.id, "role": role, "safety": run.safety, "shown_hash": shown_hash,
              "self_approved": self_approved, "break_glass": break_glass},
    )  # fmt: skip
    if break_glass:
        message = (
            f"BREAK GLASS by {actor}: {comment} — {actor} approved {describe(run)} without a "
            f"second person"
            + (" (their own request)" if self_approved else "")
            + f": {run.command}"
        )
    elif self_approved:
        message = f"{actor} self-approved their own request for {describe(run)}: {run.command}"
    else:
        message = (
            f"{actor} approved {run.requested_by}'s request for {describe(run)}: {run.command}"
        )
    _entry(
        s,
        inc,
        now,
        actor,
        message,
        {
            "run_id": run.id,
            "decision": "approved",
            "shown_hash": shown_hash,
            "self_approved": self_approved,
            "break_glass": break_glass,
        },
    )


def _check_self_approval(
    policy: ExecutionPolicy, gate: GatePolicy, loc: Located, role: str, confirmation: str | None
) -> None:
    """Raise unless the requester may approve this step alone, with the name typed if needed."""
    if ROLE_RANK.get(role, -1) < ROLE_RANK[gate.role]:
        raise PermissionDenied(
            f"approving a {loc.step.safety} step needs the {gate.role} role; you are {role}: "
            f"request it without approving it, and a {gate.role} approves it"
        )
    if policy.needs_second_person(gate, loc.step.safety):
        raise PermissionDenied(
            f"this {loc.step.safety} step needs a second person: request it without approving "
            "it, and someone else approves it (or a commander breaks glass, with a reason)"
        )
    phrase = confirmation_phrase(loc)
    if needs_confirmation(gate, loc.step.safety) and (confirmation or "").strip() != phrase:
        raise InputError(f"type the step's name to confirm: {phrase!r}", field="confirmation")


def dry_run(
    config: Config, catalog: RunbookCatalog, inc: Incident, index: int, variables: Mapping[str, str]
) -> dict[str, Any]:
    """The fully resolved command and the gate it would meet, nothing run or stored."""
    loc = locate(catalog, inc, index)
    svc = service_of(config, inc)
    check_request_variables(loc.step, svc, variables)
    ctx = context_for(svc, variables)
    gate = svc.execution.gate(loc.step.safety, loc.runbook.path)
    command = resolve_display(loc, ctx, svc)
    shown = review_of(svc, loc, "dry-run", variables)
    return {
        "step": index,
        "command": command,
        "argv": shown.argv,
        "variables": [vars(v) for v in shown.variables],
        "target": shown.target,
        "kind": loc.step.kind,
        "safety": loc.step.safety,
        "reason": loc.step.reason,
        "needs_role": gate.role if gate else None,
        "second_person": bool(gate and svc.execution.needs_second_person(gate, loc.step.safety)),
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
    approve: bool = False,
    automatic: bool = False,
    enqueue: bool = True,
) -> StepRun:
    """Ask to run a step. Read-only: queued at once. Gated: waits for approval, unless the asker
    says ``approve`` (self-approval, an explicit act) and may approve it alone (role high enough,
    no second person, the name typed when needed); otherwise that is refused and nothing stored."""
    inc = repos.get_incident(s, tenant, incident_id)
    loc = locate(catalog, inc, index)
    if not loc.step.executable:
        raise InputError(
            f"step {index} is an instruction for a person, not a command", field="step"
        )
    if loc.step.interactive:
        raise InputError(
            f"step {index} ({loc.step.text.splitlines()[0][:80]}) is interactive: "
            f"{loc.step.interactive_reason} and has no bounded form; run it by hand in a terminal",
            field="step",
        )
    svc = service_of(config, inc)
    check_request_variables(loc.step, svc, variables)
    policy: ExecutionPolicy = svc.execution
    display = resolve_display(loc, context_for(svc, variables), svc)
    gate = policy.gate(loc.step.safety, loc.runbook.path)
    self_approve = approve and gate is not None and not automatic
    if self_approve and gate is not None:
        _check_self_approval(policy, gate, loc, role, confirmation)
    run_id = new_id("run")
    shown = review_of(svc, loc, run_id, variables)
    run = StepRun(
        id=run_id,
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
        status=WAITING,
        automatic=automatic,
        requested_by=actor,
        requested_at=now,
        approval_expires_at=now + policy.approval_ttl if gate else None,
        shown_hash=shown.shown_hash,
        review=shown.to_dict(),
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
    second = policy.needs_second_person(gate, loc.step.safety)
    _entry(
        s,
        inc,
        now,
        actor,
        f"{actor} asked to run {describe(run)} (request {run.id}): {display}; needs approval "
        f"by a {gate.role}" + (" (a second person)" if second else ""),
        {"run_id": run.id, "needs_role": gate.role, "second_person": second},
    )
    if self_approve:
        _approve(
            s, inc, run, actor, role, now, "self-approved when requested",
            shown_hash=shown.shown_hash, self_approved=True,
        )  # fmt: skip
    return run


def _run_of(s: Session, inc: Incident, run_id: str) -> StepRun:
    """Run ``run_id`` of this incident (NotFound for another incident's or tenant's run)."""
    run = s.scalars(
        select(StepRun).where(
            StepRun.tenant == inc.tenant, StepRun.incident_id == inc.id, StepRun.id == run_id
        )
    ).first()
    if run is None:
        raise NotFound(f"this incident has no run request {run_id!r}", field="run_id")
    return run


def get_run(s: Session, tenant: str, incident_id: str, run_id: str) -> StepRun:
    """One run request of an incident, scoped to the tenant."""
    return _run_of(s, repos.get_incident(s, tenant, incident_id), run_id)


def _waiting(s: Session, tenant: str, incident_id: str, run_id: str) -> tuple[Incident, StepRun]:
    inc = repos.get_incident(s, tenant, incident_id)
    run = _run_of(s, inc, run_id)
    if run.status != WAITING:
        raise Conflict(f"request {run.id} is {run.status}, not waiting for approval")
    return inc, run


def _close(
    s: Session, inc: Incident, run: StepRun, actor: str, now: datetime, status: str
) -> StepRun:
    """Close a waiting request as ``expired`` or ``changed`` (kept on the timeline)."""
    _claim(s, run, status)
    run.finished_at = now
    why = (
        f"the request {run.id} for {describe(run)} expired before approval"
        if status == "expired"
        else f"{describe(run)} changed since it was requested (request {run.id}); not run"
    )
    _entry(s, inc, now, actor, why, {"run_id": run.id, "status": status})
    return run


@dataclass(frozen=True)
class _Decision:
    """A waiting request with the step, service and gate it meets now."""

    inc: Incident
    run: StepRun
    svc: Service
    loc: Located
    gate: GatePolicy


def _decision(
    s: Session,
    config: Config,
    catalog: RunbookCatalog,
    tenant: str,
    incident_id: str,
    run_id: str,
    actor: str,
    role: str,
    now: datetime,
) -> _Decision | StepRun:
    """The request and its gate, the role checked; the run itself when it was closed as changed."""
    inc, run = _waiting(s, tenant, incident_id, run_id)
    try:
        loc = locate(catalog, inc, run.step_index)
        svc = service_of(config, inc)
    except NotFound:
        return _close(s, inc, run, actor, now, "changed")
    gate = svc.execution.gate(loc.step.safety, loc.runbook.path)
    if gate is None:  # the step is read-only now: not the step that was requested
        return _close(s, inc, run, actor, now, "changed")
    if ROLE_RANK.get(role, -1) < ROLE_RANK[gate.role]:
        raise PermissionDenied(
            f"approving a {loc.step.safety} step needs the {gate.role} role; you are {role}"
        )
    return _Decision(inc, run, svc, loc, gate)


def _decide(
    s: Session,
    config: Config,
    catalog: RunbookCatalog,
    d: _Decision,
    *,
    actor: str,
    role: str,
    now: datetime,
    shown_hash: str,
    confirmation: str | None,
    comment: str,
    break_glass: bool = False,
) -> StepRun:
    """Expiry, typed name, then what was shown against what would run now; approve if all hold."""
    inc, run, loc, gate = d.inc, d.run, d.loc, d.gate
    if not shown_hash:
        raise InputError(
            f"send the shown_hash of the request you approve (GET …/runs/{run.id})",
            field="shown_hash",
        )
    if run.approval_expires_at is not None and now > run.approval_expires_at:
        return _close(s, inc, run, actor, now, "expired")
    phrase = confirmation_phrase(loc)
    if needs_confirmation(gate, loc.step.safety) and (confirmation or "").strip() != phrase:
        raise InputError(f"type the step's name to confirm: {phrase!r}", field="confirmation")
    if current_review(config, catalog, inc, run) is None:
        return _close(s, inc, run, actor, now, "changed")
    if shown_hash != run.shown_hash:
        raise Conflict(
            f"what you approved is not what would run: request {run.id} is not the one you were "
            "shown (its command, variables or target differ); look at it again"
        )
    _approve(
        s, inc, run, actor, role, now, comment, shown_hash=shown_hash,
        self_approved=actor == run.requested_by, break_glass=break_glass,
    )  # fmt: skip
    return run


def approve(
    s: Session,
    config: Config,
    catalog: RunbookCatalog,
    tenant: str,
    incident_id: str,
    run_id: str,
    *,
    actor: str,
    role: str,
    now: datetime,
    shown_hash: str,
    confirmation: str | None = None,
    comment: str = "",
    self_approve: bool = False,
) -> StepRun:
    """Approve request ``run_id`` exactly as shown (``shown_hash``); every rule of the gate is
    checked here. The requester approves their own request only with ``self_approve`` and only
    where no second person is needed.

    A request that expired or whose step, config or values changed is closed (status
    ``expired``/``changed``, kept on the timeline) and returned: the caller commits that, then
    tells the person why.
    """
    d = _decision(s, config, catalog, tenant, incident_id, run_id, actor, role, now)
    if isinstance(d, StepRun):
        return d
    own = actor == d.run.requested_by
    if own and d.svc.execution.needs_second_person(d.gate, d.loc.step.safety):
        raise PermissionDenied(
            f"this {d.loc.step.safety} step needs a second person: someone other than the "
            "requester must approve it (or a commander breaks glass, with a reason)"
        )
    if own and not self_approve:
        raise Conflict(
            "this is your own request: approving it yourself is an explicit act; send "
            '"self_approve": true (on the page: “Approve my own request”)'
        )
    if self_approve and not own:
        raise Conflict(
            f"request {d.run.id} was made by {d.run.requested_by}, not you: approve it without "
            "self_approve"
        )
    return _decide(
        s, config, catalog, d, actor=actor, role=role, now=now, shown_hash=shown_hash,
        confirmation=confirmation, comment=comment,
    )  # fmt: skip


def break_glass(
    s: Session,
    config: Config,
    settings: Settings,
    catalog: RunbookCatalog,
    tenant: str,
    incident_id: str,
    run_id: str,
    *,
    actor: str,
    role: str,
    now: datetime,
    reason: str,
    shown_hash: str,
    confirmation: str | None = None,
) -> StepRun:
    """A commander approves request ``run_id`` without the second person, with a written reason:
    the approval is marked, the timeline says BREAK GLASS, and the team is paged."""
    if ROLE_RANK.get(role, -1) < ROLE_RANK["commander"]:
        raise PermissionDenied(f"breaking glass needs the commander role; you are {role}")
    why = " ".join(reason.split())
    if len(why) < MIN_BREAK_GLASS_REASON:
        raise InputError(
            f"write why you break glass (at least {MIN_BREAK_GLASS_REASON} characters): the "
            "team is paged with it and it stays on the timeline",
            field="reason",
        )
    d = _decision(s, config, catalog, tenant, incident_id, run_id, actor, role, now)
    if isinstance(d, StepRun):
        return d
    run = _decide(
        s, config, catalog, d, actor=actor, role=role, now=now, shown_hash=shown_hash,
        confirmation=confirmation, comment=why, break_glass=True,
    )  # fmt: skip
    if run.status != "queued":
        return run
    notice = f"BREAK GLASS by {actor} on {describe(run)}: {why}. Approved without a second person: {run.command}"
    paged = glass.page_team(s, config, settings, d.inc, run, notice, now)
    if not paged:
        _entry(
            s, d.inc, now, "opsbook",
            "break glass paged nobody: no one on the first escalation level or the incident's "
            "commander has a contact that can be reached now",
            {"run_id": run.id, "break_glass": True, "paged": []},
        )  # fmt: skip
    return run


def reject(
    s: Session,
    tenant: str,
    incident_id: str,
    run_id: str,
    *,
    actor: str,
    role: str,
    now: datetime,
    comment: str = "",
) -> StepRun:
    """Reject request ``run_id`` (any responder, the requester too: it is then withdrawn)."""
    inc, run = _waiting(s, tenant, incident_id, run_id)
    _claim(s, run, "rejected")
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
            shown_hash=run.shown_hash,
            self_approved=actor == run.requested_by,
        )
    )
    audit.record(
        s, at=now, tenant=tenant, action="step.rejected", actor=actor, target=run.id,
        data={"incident": inc.id, "role": role, "safety": run.safety},
    )  # fmt: skip
    _entry(
        s,
        inc,
        now,
        actor,
        f"{actor} rejected {run.requested_by}'s request for {describe(run)}"
        + (f": {comment}" if comment else ""),
        {"run_id": run.id, "decision": "rejected"},
    )
    return run


@dataclass(frozen=True)
class Pending:
    """A request waiting for approval: the review kept with it, and whether it would still run
    exactly as shown (False: approving it closes it as changed)."""

    run: StepRun
    review: Review | None
    current: bool
    second_person: bool


def pending_of(config: Config, catalog: RunbookCatalog, inc: Incident, run: StepRun) -> Pending:
    """How a waiting request looks to an approver right now."""
    svc = config.service(inc.tenant, inc.service)
    policy = svc.execution if svc else ExecutionPolicy()
    gate = policy.gate(run.safety, inc.runbook_path)
    return Pending(
        run=run,
        review=stored_review(run),
        current=current_review(config, catalog, inc, run) is not None,
        second_person=bool(gate and policy.needs_second_person(gate, run.safety)),
    )


@dataclass(frozen=True)
class Outlined:
    """A step of an incident's section with the gate it meets, its latest run, and the requests
    waiting for approval (oldest first)."""

    loc: Located
    gate: GatePolicy | None
    confirmation: str | None
    last_run: StepRun | None
    pending: list[Pending]
    second_person: bool


def outline(
    s: Session, config: Config, catalog: RunbookCatalog, inc: Incident
) -> tuple[Section, Service, list[Outlined]]:
    """Every step of the incident's section in order, for the API and the web page alike."""
    rb, section = section_of(catalog, inc)
    svc = service_of(config, inc)
    runs = runs_of(s, inc.tenant, inc.id)
    last = {r.step_index: r for r in runs}
    waiting: dict[int, list[Pending]] = {}
    for r in runs:
        if r.status == WAITING:
            waiting.setdefault(r.step_index, []).append(pending_of(config, catalog, inc, r))
    out = []
    numbered = ((ph.phase, st) for ph in section.phases for st in ph.steps)
    for index, (phase, step) in enumerate(numbered, 1):
        loc = Located(rb, section, index, step, phase)
        gate = svc.execution.gate(step.safety, rb.path) if step.executable else None
        confirm = (
            confirmation_phrase(loc) if gate and needs_confirmation(gate, step.safety) else None
        )
        second = bool(gate and svc.execution.needs_second_person(gate, step.safety))
        out.append(Outlined(loc, gate, confirm, last.get(index), waiting.get(index, []), second))
    return section, svc, out


def runs_of(s: Session, tenant: str, incident_id: str) -> list[StepRun]:
    repos.get_incident(s, tenant, incident_id)
    q = (
        select(StepRun)
        .where(StepRun.tenant == tenant, StepRun.incident_id == incident_id)
        .order_by(StepRun.requested_at, StepRun.id)
    )
    return list(s.scalars(q))


def decisions_of(s: Session, tenant: str, run_ids: list[str]) -> dict[str, list[Approval]]:
    """Approvals and rejections of these runs, oldest first, by run id."""
    out: dict[str, list[Approval]] = {}
    if not run_ids:
        return out
    q = (
        select(Approval)
        .where(Approval.tenant == tenant, Approval.step_run_id.in_(run_ids))
        .order_by(Approval.at, Approval.id)
    )
    for a in s.scalars(q):
        out.setdefault(a.step_run_id, []).append(a)
    return out


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
        if step.interactive:
            _entry(
                s,
                inc,
                now,
                "opsbook",
                f"step {index} ({step.kind}) skipped: interactive: run by hand "
                f"({step.interactive_reason})",
                {"step": index, "status": "interactive"},
            )
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
