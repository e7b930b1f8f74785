"""The worker side of step runs: execute queued runs, and the automatic diagnostics of an incident.

Each run is checked once more right before it executes — the exact command, the review its
approver saw (its hash), and an approval that satisfies the gate as configured now — then runs
outside any transaction, and its result is stored and put on the timeline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsbook.config.models import Config, ExecutionPolicy, GatePolicy, Service
from opsbook.core.clock import Clock
from opsbook.core.errors import OpsbookError
from opsbook.core.settings import DEFAULT_STEP_PATH
from opsbook.executors import execute as run_step
from opsbook.executors.models import ExecContext, StepResult
from opsbook.flows import step_inputs, steps
from opsbook.flows.runbook_catalog import RunbookCatalog
from opsbook.incidents.models import EntryKind
from opsbook.jobs.worker import JobKind
from opsbook.runbooks.models import Step
from opsbook.storage import repos
from opsbook.storage.tables import Approval, Job, StepRun

log = structlog.get_logger("opsbook.steps")
Execute = Callable[[Step, ExecContext], StepResult]


class StepRunner:
    """Runs step-run jobs and diagnose jobs; the executor is injected so tests can watch it.

    ``step_path`` is the PATH of every step's process (``Settings.step_path``).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: Callable[[], Config],
        catalog: Callable[[], RunbookCatalog],
        clock: Clock,
        execute: Execute = run_step,
        *,
        step_path: str = DEFAULT_STEP_PATH,
    ) -> None:
        self.sessions, self.config, self.catalog, self.clock, self.execute = (
            sessions,
            config,
            catalog,
            clock,
            execute,
        )
        self.step_path = step_path

    def context(self, svc: Service, loc: steps.Located, given: Mapping[str, str]) -> ExecContext:
        """The context a run executes in: the service's values, the request's values marked as
        such (data, never a target or an allowed host), and the step PATH of the settings.
        Raises InputError when a stored request value is not one this step may be given now."""
        step_inputs.check_request_variables(loc.step, svc, given)
        ctx = steps.context_for(svc, given)
        asked = frozenset(k for k in given if k not in svc.variables)
        return replace(ctx, request_variables=asked, step_path=self.step_path)

    def job_kinds(self) -> dict[str, JobKind]:
        return {
            steps.STEP_JOB: JobKind(run=self.run_job, on_expired=self.on_expired_run),
            steps.DIAGNOSE_JOB: JobKind(run=self.diagnose, on_expired=lambda _s, _j: True),
        }

    # -- one run ---------------------------------------------------------------------------------
    def _prepare(self, s: Session, run: StepRun) -> tuple[Step, ExecContext] | None:
        """Re-check a queued run; mark it and return None when it may no longer run."""
        now = self.clock.now()
        inc = repos.get_incident(s, run.tenant, run.incident_id)
        try:
            loc = steps.locate(self.catalog(), inc, run.step_index)
            svc = steps.service_of(self.config(), inc)
        except OpsbookError as exc:
            self._refuse(s, run, "error", f"{steps.describe(run)} cannot run: {exc.detail}")
            return None
        try:
            ctx = self.context(svc, loc, run.variables)
            display = steps.resolve_display(loc, ctx)
        except OpsbookError as exc:
            self._refuse(s, run, "error", f"{steps.describe(run)} cannot run: {exc.detail}")
            return None
        fresh = steps.review_of(svc, loc, run.id, run.variables)
        if steps.binding(loc.step, display, run.variables) != run.binding or (
            run.shown_hash is not None and fresh.shown_hash != run.shown_hash
        ):
            self._refuse(
                s, run, "changed", f"{steps.describe(run)} changed after approval; not run"
            )
            return None
        gate = svc.execution.gate(loc.step.safety, loc.runbook.path)
        if gate is not None:
            why = self._approval_problem(s, run, svc.execution, gate, loc.step.safety)
            if why:
                self._refuse(s, run, "error", f"{steps.describe(run)} {why}; not run")
                return None
        run.status, run.started_at = "running", now
        return loc.step, ctx

    @staticmethod
    def _approval_problem(
        s: Session, run: StepRun, policy: ExecutionPolicy, gate: GatePolicy, safety: str
    ) -> str | None:
        """Why no approval of this run satisfies the gate as configured now (None: one does).

        It must name this run's binding and review hash, come from the role the gate asks for,
        and, where a second person is needed, from someone else than the requester unless
        glass was broken.
        """
        approvals = s.scalars(
            select(Approval).where(
                Approval.tenant == run.tenant,
                Approval.step_run_id == run.id,
                Approval.decision == "approved",
                Approval.binding == run.binding,
            )
        ).all()
        bound = [a for a in approvals if a.shown_hash == run.shown_hash]
        if not bound:
            return "has no valid approval"
        rank = steps.ROLE_RANK
        if not any(rank.get(a.role, -1) >= rank[gate.role] for a in bound):
            return f"was approved by a role below {gate.role}, which its gate asks for now"
        if policy.needs_second_person(gate, safety) and all(
            a.actor == run.requested_by and not a.break_glass for a in bound
        ):
            return "needs a second person's approval now; only the requester approved it"
        return None

    def _refuse(self, s: Session, run: StepRun, status: str, message: str) -> None:
        now = self.clock.now()
        run.status, run.finished_at = status, now
        inc = repos.get_incident(s, run.tenant, run.incident_id)
        repos.add_entry(
            s, inc, now, "opsbook", EntryKind.STEP, message, {"run_id": run.id, "status": status}
        )
        return None

    def _record(self, run_id: str, result: StepResult) -> None:
        with self.sessions.begin() as s:
            run = s.get(StepRun, run_id)
            if run is None:
                return
            now = self.clock.now()
            run.status, run.finished_at, run.result = result.status, now, result.to_dict()
            inc = repos.get_incident(s, run.tenant, run.incident_id)
            repos.add_entry(
                s,
                inc,
                now,
                "opsbook",
                EntryKind.STEP,
                f"{steps.describe(run)} {result.status} in {result.duration_ms:.0f} ms: {result.summary}",
                {"run_id": run.id, "status": result.status, "step": run.step_index},
            )

    def execute_run(self, run_id: str) -> str | None:
        """Run one queued run now; returns its final status (None if it was not runnable)."""
        with self.sessions.begin() as s:
            run = s.get(StepRun, run_id, with_for_update=True)
            if run is None or run.status != "queued":
                return None
            prepared = self._prepare(s, run)
        if prepared is None:
            return None
        step, ctx = prepared
        try:
            result = self.execute(step, ctx)
        except Exception as exc:  # noqa: BLE001 - executors should not raise; if one does, record it
            log.error("executor_raised", run=run_id, error=type(exc).__name__)
            result = StepResult(
                status="error", summary=f"the {step.kind} executor failed: {type(exc).__name__}"
            )
        self._record(run_id, result)
        return result.status

    def run_job(self, payload: Mapping[str, Any]) -> None:
        self.execute_run(str(payload["run_id"]))

    def on_expired_run(self, s: Session, job: Job) -> bool:
        """A read-only run whose worker died runs again; anything else is marked interrupted."""
        run = s.get(StepRun, str(job.payload.get("run_id")))
        if run is None:
            return False
        if run.safety == "read-only":
            run.status = "queued"
            return True
        run.status, run.finished_at = "interrupted", self.clock.now()
        inc = repos.get_incident(s, run.tenant, run.incident_id)
        repos.add_entry(
            s,
            inc,
            self.clock.now(),
            "opsbook",
            EntryKind.STEP,
            f"{steps.describe(run)} was interrupted (the worker stopped); it changes state, so it is "
            "not re-run by itself: check the system, then request it again",
            {"run_id": run.id, "status": "interrupted"},
        )
        return False

    # -- automatic diagnostics -------------------------------------------------------------------
    def diagnose(self, payload: Mapping[str, Any]) -> None:
        """Run the read-only steps of the given phases in order, within the service's budget."""
        incident_id, phases = str(payload["incident_id"]), list(payload.get("phases", []))
        with self.sessions.begin() as s:
            tenant = payload.get("tenant") or self._tenant_of(s, incident_id)
            if tenant is None:
                return
            run_ids, budget = steps.plan_automatic(
                s, self.config(), self.catalog(), tenant, incident_id, phases, self.clock.now()
            )
        deadline = time.monotonic() + budget
        for n, run_id in enumerate(run_ids):
            if time.monotonic() > deadline:
                self._skip_rest(run_ids[n:], "the incident's budget for automatic steps ran out")
                return
            self.execute_run(run_id)

    def _tenant_of(self, s: Session, incident_id: str) -> str | None:
        from opsbook.storage.tables import Incident

        inc = s.get(Incident, incident_id)
        return str(inc.tenant) if inc else None

    def _skip_rest(self, run_ids: list[str], why: str) -> None:
        with self.sessions.begin() as s:
            for run_id in run_ids:
                run = s.get(StepRun, run_id)
                if run is not None and run.status == "queued":
                    self._refuse(s, run, "skipped", f"{steps.describe(run)} skipped: {why}")
