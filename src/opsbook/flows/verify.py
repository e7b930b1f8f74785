"""Runbook verification: run every read-only diagnostic step of a service's runbooks against the
real systems, keep the history per step, and find the steps that stopped working or went stale.

Only steps the reader classed ``read-only``, executable and not interactive are run, each with
the service's variables and secrets, its allowed hosts and a short time bound — exactly the
context the automatic diagnostics of an incident get. Nothing that changes state ever runs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from opsbook.config.models import Config, Service
from opsbook.core.clock import Clock
from opsbook.core.ids import new_id
from opsbook.core.settings import DEFAULT_STEP_PATH
from opsbook.executors import execute as run_step
from opsbook.executors.models import ExecContext, MissingVariables, StepResult
from opsbook.flows import steps as step_flows
from opsbook.flows.runbook_catalog import RunbookCatalog, runbook_id
from opsbook.jobs.worker import JobKind
from opsbook.runbooks.models import Runbook, Section, Step
from opsbook.storage import jobs
from opsbook.storage.tables_verify import StepVerification

log = structlog.get_logger("opsbook.verify")
JOB = "runbooks.verify"

Execute = Callable[[Step, ExecContext], StepResult]
QUERY_KINDS = frozenset({"sql", "promql", "cypher", "redis"})
_UNREACHABLE = re.compile(
    r"cannot connect|connection refused|timed out connecting|name or service not known|"
    r"could not resolve|no route to host|^refused:|network is unreachable",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Target:
    """One step to verify, with where it lives."""

    tenant: str
    service: Service
    runbook: Runbook
    section: Section
    step: Step

    @property
    def runbook_id(self) -> str:
        return runbook_id(self.runbook.path)

    @property
    def key(self) -> str:
        """Stable across edits elsewhere in the runbook: runbook, section and the step's text."""
        blob = "\x00".join((self.runbook_id, self.section.id, self.step.text))
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Outcome:
    """What verifying one step gave."""

    target: Target
    status: str  # ok | failed | skipped
    category: str
    summary: str
    duration_ms: float = 0.0


def verifiable(step: Step) -> str | None:
    """None when the step may be verified automatically; otherwise why it is skipped."""
    if not step.executable:
        return "an instruction, not a command"
    if step.safety != "read-only":
        return f"{step.safety}: only read-only steps are verified"
    if step.interactive:
        return "interactive: " + (step.interactive_reason or "needs a terminal")
    return None


def targets(
    config: Config,
    catalog: RunbookCatalog,
    *,
    tenant: str | None = None,
    service: str | None = None,
) -> list[Target]:
    """Every executable step of the chosen services' runbooks, in document order."""
    out: list[Target] = []
    for svc in config.services:
        if (tenant and svc.tenant != tenant) or (service and svc.name != service):
            continue
        for rb in catalog.for_service(svc.tenant, svc.name):
            for section in rb.sections:
                out.extend(
                    Target(svc.tenant, svc, rb, section, st)
                    for st in section.steps
                    if st.executable
                )
    return out


def category_of(step: Step, res: StepResult) -> str:
    """Why a step failed, in the words of the issue a person must fix."""
    if res.ok:
        return "ok"
    text = res.summary
    if res.status == "timeout":
        return "timeout"
    if "is not installed" in text or ("not found" in text.lower() and res.status == "unavailable"):
        return "command-missing"
    if _UNREACHABLE.search(text):
        return "unreachable"
    if res.status == "unavailable":
        return "not-runnable"
    if step.kind in QUERY_KINDS:
        return "query-error"
    return "failed"


def verify_one(
    t: Target, *, timeout: timedelta, step_path: str, execute: Execute = run_step
) -> Outcome:
    """Run one target if it is verifiable; a missing variable is a finding, not an exception."""
    why = verifiable(t.step)
    if why is not None:
        return Outcome(t, "skipped", "not-verifiable", why)
    ctx = replace(step_flows.context_for(t.service, {}, timeout), step_path=step_path)
    try:
        res = execute(t.step, ctx)
    except MissingVariables as exc:
        names = ", ".join(exc.names)
        return Outcome(
            t,
            "failed",
            "variable-undefined",
            f"undefined variable {names}: define it in services[{t.service.name}].variables",
        )
    category = category_of(t.step, res)
    status = "ok" if res.ok else "failed"
    return Outcome(t, status, category, res.summary[:500], res.duration_ms)


def verify(
    items: Iterable[Target],
    *,
    timeout: timedelta,
    step_path: str,
    execute: Execute = run_step,
    progress: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Verify each target in turn (a bounded number of steps, each bounded in time)."""
    out = []
    for t in items:
        o = verify_one(t, timeout=timeout, step_path=step_path, execute=execute)
        out.append(o)
        if progress is not None:
            progress(o)
    return out


def record(s: Session, outcomes: Sequence[Outcome], now: datetime, by: str) -> int:
    """Store the run (skipped steps are not history); returns the rows written."""
    rows = [
        {
            "id": new_id("ver"),
            "tenant": o.target.tenant,
            "service": o.target.service.name,
            "runbook": o.target.runbook.path[:512],
            "section": o.target.section.id[:256],
            "step_key": o.target.key,
            "step_line": o.target.step.line,
            "step_title": (o.target.step.title or o.target.step.text)[:200],
            "status": o.status,
            "category": o.category,
            "summary": o.summary[:500],
            "duration_ms": round(o.duration_ms, 3),
            "verified_at": now,
            "verified_by": by[:160],
        }
        for o in outcomes
        if o.status != "skipped"
    ]
    if rows:
        s.execute(insert(StepVerification), rows)
    return len(rows)


@dataclass(frozen=True)
class StepState:
    """What the history says of one step now."""

    target: Target
    last: StepVerification | None
    last_ok_at: datetime | None
    stale: bool


def states(
    s: Session, items: Sequence[Target], now: datetime, stale_after: timedelta
) -> list[StepState]:
    """Latest verification and last pass of each verifiable target; stale when it has not passed
    within ``stale_after`` (never verified counts as stale). Two indexed queries per service."""
    by_service: dict[tuple[str, str], list[Target]] = {}
    for t in items:
        if verifiable(t.step) is None:
            by_service.setdefault((t.tenant, t.service.name), []).append(t)
    out: list[StepState] = []
    for (tenant, service), group in by_service.items():
        keys = [t.key for t in group]
        latest = _latest(s, tenant, service, keys)
        passed = dict(
            s.execute(
                select(StepVerification.step_key, func.max(StepVerification.verified_at))
                .where(
                    StepVerification.tenant == tenant,
                    StepVerification.service == service,
                    StepVerification.step_key.in_(keys),
                    StepVerification.status == "ok",
                )
                .group_by(StepVerification.step_key)
            ).all()
        )
        for t in group:
            ok_at = passed.get(t.key)
            out.append(
                StepState(t, latest.get(t.key), ok_at, ok_at is None or now - ok_at > stale_after)
            )
    return out


def _latest(
    s: Session, tenant: str, service: str, keys: Sequence[str]
) -> dict[str, StepVerification]:
    newest = (
        select(StepVerification.step_key, func.max(StepVerification.verified_at).label("at"))
        .where(
            StepVerification.tenant == tenant,
            StepVerification.service == service,
            StepVerification.step_key.in_(keys),
        )
        .group_by(StepVerification.step_key)
        .subquery()
    )
    rows = s.scalars(
        select(StepVerification)
        .join(
            newest,
            (StepVerification.step_key == newest.c.step_key)
            & (StepVerification.verified_at == newest.c.at),
        )
        .where(StepVerification.tenant == tenant, StepVerification.service == service)
    )
    return {r.step_key: r for r in rows}


def history(
    s: Session, tenant: str, service: str, key: str, limit: int = 20
) -> list[StepVerification]:
    """The newest ``limit`` verifications of one step."""
    q = (
        select(StepVerification)
        .where(
            StepVerification.tenant == tenant,
            StepVerification.service == service,
            StepVerification.step_key == key,
        )
        .order_by(StepVerification.verified_at.desc())
        .limit(limit)
    )
    return list(s.scalars(q))


def state_json(st: StepState) -> dict[str, Any]:
    """A step's state as the API and ``--json`` show it."""
    t, last = st.target, st.last
    return {
        "service": t.service.name,
        "runbook": t.runbook.path,
        "section": t.section.id,
        "step_key": t.key,
        "line": t.step.line,
        "title": t.step.title or t.step.text[:80],
        "kind": t.step.kind,
        "last": None
        if last is None
        else {
            "status": last.status,
            "category": last.category,
            "summary": last.summary,
            "at": last.verified_at.isoformat(),
            "by": last.verified_by,
        },
        "last_ok_at": st.last_ok_at.isoformat() if st.last_ok_at else None,
        "stale": st.stale,
    }


def outcome_json(o: Outcome) -> dict[str, Any]:
    t = o.target
    return {
        "service": t.service.name,
        "runbook": t.runbook.path,
        "section": t.section.id,
        "line": t.step.line,
        "title": t.step.title or t.step.text[:80],
        "kind": t.step.kind,
        "status": o.status,
        "category": o.category,
        "summary": o.summary,
        "duration_ms": round(o.duration_ms, 1),
    }


def counts(outcomes: Iterable[Outcome]) -> Mapping[str, int]:
    """``{"ok": n, "failed": n, "skipped": n}``."""
    out = {"ok": 0, "failed": 0, "skipped": 0}
    for o in outcomes:
        out[o.status] += 1
    return out


class VerifySchedule:
    """The ``runbooks.verify`` job: every ``verification.every``, verify every service's steps.

    One job per slot (its id is the slot number, inserted with ON CONFLICT DO NOTHING), so
    several workers or a restart never run a slot twice; each run queues the next slot first.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: Callable[[], Config],
        catalog: Callable[[], RunbookCatalog],
        clock: Clock,
        *,
        step_path: str = DEFAULT_STEP_PATH,
        execute: Execute = run_step,
    ) -> None:
        self.sessions, self.config, self.catalog, self.clock = sessions, config, catalog, clock
        self.step_path, self.execute = step_path, execute

    def _slot_row(self, at: datetime) -> dict[str, Any] | None:
        every = self.config().verification.every
        if every is None or every.total_seconds() < 60:
            return None
        seconds = int(every.total_seconds())
        slot = int(at.timestamp()) // seconds + 1
        row = jobs.job_row(jobs.SYSTEM_TENANT, JOB, {"slot": slot}, at, priority=3)
        row["id"] = f"verify-{seconds}-{slot}"
        row["run_after"] = datetime.fromtimestamp(slot * seconds, tz=at.tzinfo)
        return row

    def ensure_scheduled(self) -> bool:
        """Queue the next slot when scheduled verification is on; True when a slot is queued."""
        row = self._slot_row(self.clock.now())
        if row is None:
            return False
        with self.sessions.begin() as s:
            jobs.enqueue_once(s, [row])
        return True

    def run(self, payload: Mapping[str, Any]) -> list[Outcome]:
        """A slot: queue the next one, then verify every service. A request (``tenant``, and
        optionally ``service``, in the payload): verify just those. Outcomes are stored."""
        one_off = "tenant" in payload
        if not one_off:
            self.ensure_scheduled()
        config, catalog = self.config(), self.catalog()
        chosen = (
            targets(config, catalog, tenant=str(payload["tenant"]), service=payload.get("service"))
            if one_off
            else targets(config, catalog)
        )
        outcomes = verify(
            chosen,
            timeout=config.verification.step_timeout,
            step_path=self.step_path,
            execute=self.execute,
        )
        with self.sessions.begin() as s:
            record(s, outcomes, self.clock.now(), str(payload.get("by") or "schedule"))
        c = counts(outcomes)
        log.info("runbooks_verified", ok=c["ok"], failed=c["failed"], skipped=c["skipped"])
        return outcomes

    def _job(self, payload: Mapping[str, Any]) -> None:
        self.run(payload)

    def job_kinds(self) -> dict[str, JobKind]:
        try:
            self.ensure_scheduled()
        except Exception as exc:  # noqa: BLE001 - the worker must start even if this fails
            log.warning("verify_seed_failed", error=str(exc))
        return {
            JOB: JobKind(
                run=self._job,
                on_expired=lambda _s, _j: True,
                lease=timedelta(minutes=10),
            )
        }


def request_job(s: Session, tenant: str, service: str | None, by: str, now: datetime) -> str:
    """Queue a verification of the tenant's (or one service's) steps now; returns the job id."""
    row = jobs.job_row(tenant, JOB, {"tenant": tenant, "service": service, "by": by}, now)
    jobs.enqueue_once(s, [row])
    return str(row["id"])
