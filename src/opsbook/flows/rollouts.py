"""Canary rollouts in the worker: shift traffic step by step, judge the SLO gates each interval,
promote when every step passed, roll back and open an incident when a gate fails.

Durability and one driver at a time:

* Each evaluation is a ``rollouts.tick`` job whose id is ``rt_<id>_<seq>``: the next tick is
  queued (ON CONFLICT DO NOTHING) before the lease is released, so a restart resumes the chain
  and two replicas never make two.
* A tick first takes the rollout's lease by compare-and-set (``lease_until`` past, ``seq``
  matching); every write after it is fenced by the lease token.
* Before a weight change ``target_weight`` is committed; after it, ``weight``. A tick that finds
  ``target_weight`` set (the process died in between) reads the actuator: if it can tell, the
  rollout goes on from what it reads; if it cannot, traffic goes back to 0 % and it fails.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from opsbook.config.models import Config, Service
from opsbook.config.rollouts import Rollout
from opsbook.core.clock import Clock, isoformat
from opsbook.core.errors import Conflict, InputError, NotFound, OpsbookError
from opsbook.core.ids import new_id
from opsbook.flows.rollout_traffic import (
    ActuatorError,
    RunbookTraffic,
    Traffic,
    names,
    traffic_for,
)
from opsbook.flows.runbook_catalog import RunbookCatalog, runbook_id
from opsbook.incidents.models import EntryKind
from opsbook.intake.models import EventAction
from opsbook.jobs.worker import JobKind
from opsbook.rollouts.engine import ACTIVE, GateResult, State, decide, judge, render_query
from opsbook.runbooks.models import Runbook, Section
from opsbook.storage import jobs, repos
from opsbook.storage.tables import Incident
from opsbook.storage.tables_rollouts import RolloutRow

log = structlog.get_logger("opsbook.rollouts")
TICK_JOB = "rollouts.tick"
SOURCE = "rollout"
EVALUATIONS_KEPT = 500
EVENTS_KEPT = 200
LEASE = timedelta(seconds=10)
"""How long a tick holds its rollout: a replica killed mid-tick delays the rollout by this much at
most (writes after an expired lease are fenced, and traffic moves only after a fenced write)."""
Query = Callable[[str, str], float | None]
TrafficFor = Callable[[Rollout], Traffic]


def section_ref(
    catalog: RunbookCatalog, tenant: str, service: str, ref: str
) -> tuple[Runbook, Section] | None:
    """``FILE#SECTION`` among the service's runbooks: FILE is the path as loaded or its tail;
    SECTION is resolved by ``Runbook.section`` (never one of two equal headings)."""
    file, _, wanted = ref.partition("#")
    for rb in catalog.for_service(tenant, service):
        if rb.path == file or rb.path.endswith("/" + file.lstrip("./")):
            found = rb.section(wanted)
            return (rb, found) if found else None
    return None


def make_traffic(plan: Rollout, config: Config, catalog: RunbookCatalog | None) -> Traffic:
    """The plan's actuator; a runbook actuator runs its section's commands with the service's
    variables, secrets and allowed hosts (as any step of the service)."""
    ra = plan.actuator.runbook
    if ra is None:
        return traffic_for(plan.actuator)
    svc = next((x for x in config.services if x.name == plan.service), None)
    if svc is None or catalog is None:
        raise ActuatorError(f"service {plan.service!r} or its runbooks are not loaded")
    found = section_ref(catalog, svc.tenant, svc.name, ra.section)
    if found is not None:
        from opsbook.flows import steps as step_flows

        def context(values: dict[str, str]) -> Any:
            return step_flows.context_for(svc, values)

        return RunbookTraffic(found[1].steps, context)
    raise ActuatorError(f"actuator section {ra.section!r} is not in {plan.service}'s runbooks")


def plans(config: Config, tenant: str) -> list[Rollout]:
    """The rollout plans of the tenant's services."""
    mine = {s.name for s in config.services if s.tenant == tenant}
    return [r for r in config.rollouts if r.service in mine]


def plan_of(config: Config, tenant: str, name: str) -> Rollout:
    """The tenant's rollout plan ``name`` (a plan is named by its own name or its service's)."""
    found = [r for r in plans(config, tenant) if name in (r.name, r.service)]
    if len(found) != 1:
        known = ", ".join(r.name for r in plans(config, tenant)) or "none"
        why = "several plans match" if found else "no rollout plan"
        raise NotFound(f"{why} {name!r}; rollouts: {known}", field="service")
    return found[0]


def prometheus_query(base: str, promql: str) -> float | None:
    """An instant query's first value (None when there is none, NaN for 0/0 rates)."""
    try:
        r = httpx.get(f"{base.rstrip('/')}/api/v1/query", params={"query": promql}, timeout=10)
        payload = r.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ActuatorError(f"Prometheus at {base} did not answer: {exc}") from None
    if payload.get("status") != "success":
        raise InputError(f"Prometheus refused the query: {payload.get('error', '?')}")
    data = payload.get("data", {})
    result = data.get("result")
    if data.get("resultType") == "scalar":
        return float(result[1])
    if not result:
        return None
    return float(result[0]["value"][1])


def _event(row: RolloutRow, at: datetime, what: str, **extra: Any) -> None:
    row.events = [*(row.events or []), {"at": isoformat(at), "event": what, **extra}][-EVENTS_KEPT:]


def _tick_row(row: RolloutRow, at: datetime) -> dict[str, Any]:
    job = jobs.job_row(row.tenant, TICK_JOB, {"id": row.id, "seq": row.seq}, at, priority=2)
    # jobs.id is 40 characters: "rt_" + the rollout id's 28 hex digits + "_" + seq
    return {**job, "id": f"rt_{row.id.removeprefix('ro_')}_{row.seq}", "run_after": at}


def _queue_tick(s: Session, row: RolloutRow, at: datetime) -> None:
    jobs.enqueue_once(s, [_tick_row(row, at)])


def start(
    s: Session, config: Config, tenant: str, name: str, version: str, by: str, now: datetime
) -> RolloutRow:
    """Begin a rollout of ``version``; 409 when this plan already has one running or paused."""
    plan = plan_of(config, tenant, name)
    version = version.strip()
    if not version or len(version) > 128:
        raise InputError("give the version being rolled out (1–128 characters)", field="version")
    row = RolloutRow(
        id=new_id("ro"), tenant=tenant, service=plan.service, name=plan.name, version=version,
        status="running", active_key=f"{tenant}/{plan.name}", step=0, weight=0,
        target_weight=None, failures=0, passed=[], step_started_at=now, started_at=now,
        started_by=by[:160], updated_at=now, finished_at=None, reason="", incident_id=None,
        seq=1, lease_until=None, lease_token=None, events=[], evaluations=[],
    )  # fmt: skip
    _event(row, now, "started", by=by, version=version)
    s.add(row)
    try:
        s.flush()
    except IntegrityError:
        raise Conflict(
            f"rollout {plan.name} already has a rollout running or paused; "
            "promote, abort or wait for it first",
            field="service",
        ) from None
    _queue_tick(s, row, now)
    return row


def get(s: Session, tenant: str, rollout_id: str) -> RolloutRow:
    row = s.get(RolloutRow, rollout_id)
    if row is None or row.tenant != tenant:
        raise NotFound(f"no rollout {rollout_id!r}", field="rollout")
    return row


def listing(s: Session, tenant: str, limit: int = 50) -> list[RolloutRow]:
    q = (
        select(RolloutRow)
        .where(RolloutRow.tenant == tenant)
        .order_by(RolloutRow.started_at.desc())
        .limit(limit)
    )
    return list(s.scalars(q))


def _finish(row: RolloutRow, status: str, now: datetime, reason: str) -> None:
    row.status, row.active_key, row.finished_at, row.reason = status, None, now, reason[:1000]
    row.updated_at, row.lease_until, row.lease_token = now, None, None


def pause(
    s: Session, tenant: str, rollout_id: str, by: str, now: datetime, *, on: bool
) -> RolloutRow:
    """Hold (or resume) the steps; gates keep being judged and a failure still rolls back."""
    row = get(s, tenant, rollout_id)
    if row.status not in ACTIVE:
        raise Conflict(f"rollout {row.id} is {row.status}", field="rollout")
    row.status = "paused" if on else "running"
    if not on:
        row.step_started_at = now  # a resumed step pauses its full time again
    row.updated_at = now
    _event(row, now, "paused" if on else "resumed", by=by)
    return row


def abort(
    s: Session, config: Config, tenant: str, rollout_id: str, by: str, now: datetime,
    traffic: TrafficFor | None = None, catalog: RunbookCatalog | None = None,
) -> RolloutRow:  # fmt: skip
    """Traffic back to 0 % now; the rollout ends as aborted (no incident: a person chose it)."""
    row = get(s, tenant, rollout_id)
    if row.status not in ACTIVE:
        raise Conflict(f"rollout {row.id} is {row.status}", field="rollout")
    plan = plan_of(config, tenant, row.name)
    (traffic or (lambda p: make_traffic(p, config, catalog)))(plan).set(0)
    row.weight, row.target_weight = 0, None
    _event(row, now, "aborted", by=by, weight=0)
    _finish(row, "aborted", now, f"aborted by {by}")
    return row


def promote(
    s: Session, config: Config, tenant: str, rollout_id: str, by: str, now: datetime,
    traffic: TrafficFor | None = None, catalog: RunbookCatalog | None = None,
) -> RolloutRow:  # fmt: skip
    """Skip the remaining steps: 100 % to the new version now (a person's decision)."""
    row = get(s, tenant, rollout_id)
    if row.status not in ACTIVE:
        raise Conflict(f"rollout {row.id} is {row.status}", field="rollout")
    plan = plan_of(config, tenant, row.name)
    (traffic or (lambda p: make_traffic(p, config, catalog)))(plan).set(100)
    row.weight, row.target_weight, row.step = 100, None, len(plan.steps) - 1
    _event(row, now, "promoted", by=by, weight=100)
    _finish(row, "succeeded", now, f"promoted by {by}")
    return row


def view(row: RolloutRow, plan: Rollout | None) -> dict[str, Any]:
    """A rollout as the API, the CLI and the page show it."""
    return {
        "id": row.id,
        "name": row.name,
        "service": row.service,
        "version": row.version,
        "status": row.status,
        "step": row.step + 1,
        "steps": [
            {"weight": x.weight, "pause_seconds": int(x.pause.total_seconds())} for x in plan.steps
        ]
        if plan
        else [],
        "weight": row.weight,
        "failures": row.failures,
        "started_at": isoformat(row.started_at),
        "started_by": row.started_by,
        "finished_at": isoformat(row.finished_at) if row.finished_at else None,
        "reason": row.reason,
        "incident_id": row.incident_id,
        "gates": [_gate_view(g) for g in (plan.gates if plan else [])],
        "events": list(row.events or []),
        "evaluations": list(row.evaluations or [])[-100:],
    }


def annotation(row: RolloutRow) -> dict[str, Any]:
    """A rollout as an annotation of its service's timeline (times in epoch milliseconds)."""
    weights = [e["weight"] for e in row.events or [] if e.get("event") == "step"]
    path = " → ".join(f"{w} %" for w in weights) or "no traffic shifted"
    text = f"rollout {row.name} of {row.version}: {row.status} ({path})"
    if row.reason:
        text += f"; {row.reason}"
    out: dict[str, Any] = {
        "time": int(row.started_at.timestamp() * 1000),
        "title": f"{row.version} {row.status}",
        "text": text,
        "tags": ["rollout", row.service, row.version, row.status],
        "rollout": row.id,
        "incident_id": row.incident_id,
    }
    if row.finished_at is not None:
        out["timeEnd"] = int(row.finished_at.timestamp() * 1000)
    return out


def _gate_view(g: Any) -> dict[str, Any]:
    keys = ("name", "query", "max", "min", "baseline", "max_increase", "max_ratio")
    return {k: getattr(g, k) for k in keys}


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else x


@dataclass
class Tick:
    """What one tick did (for tests and logs)."""

    action: str
    reason: str


class RolloutDriver:
    """The ``rollouts.tick`` job kind: one evaluation of one rollout, then the next tick."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: Callable[[], Config],
        clock: Clock,
        *,
        catalog: Callable[[], RunbookCatalog] | None = None,
        traffic: TrafficFor | None = None,
        query: Query = prometheus_query,
    ) -> None:
        self.sessions, self.config, self.clock = sessions, config, clock
        self.catalog, self.query = catalog, query
        self.traffic: TrafficFor = traffic or (
            lambda p: make_traffic(p, self.config(), self.catalog() if self.catalog else None)
        )

    def job_kinds(self) -> dict[str, JobKind]:
        return {TICK_JOB: JobKind(run=self._job, on_expired=lambda _s, _j: True, lease=LEASE)}

    def _job(self, payload: Mapping[str, Any]) -> None:
        self.tick(str(payload["id"]), int(payload["seq"]))

    # -- lease -------------------------------------------------------------------------------
    def _claim(self, rollout_id: str, seq: int) -> str | None:
        now, token = self.clock.now(), new_id("lease")
        with self.sessions.begin() as s:
            res = s.execute(
                update(RolloutRow)
                .where(
                    RolloutRow.id == rollout_id,
                    RolloutRow.seq == seq,
                    RolloutRow.status.in_(ACTIVE),
                    (RolloutRow.lease_until.is_(None)) | (RolloutRow.lease_until < now),
                )
                .values(lease_until=now + LEASE, lease_token=token)
            )
        return token if res.rowcount else None  # type: ignore[attr-defined]

    def _held(self, s: Session, rollout_id: str, token: str) -> RolloutRow | None:
        row = s.get(RolloutRow, rollout_id, with_for_update=True)
        if row is None or row.lease_token != token:
            log.warning("rollout_write_fenced", rollout=rollout_id)
            return None
        return row

    # -- one tick ----------------------------------------------------------------------------
    def tick(self, rollout_id: str, seq: int) -> Tick | None:
        """Evaluate once and act; None when another worker holds it or the tick is stale."""
        token = self._claim(rollout_id, seq)
        if token is None:
            return None
        config = self.config()
        with self.sessions() as s:
            row = s.get(RolloutRow, rollout_id)
            assert row is not None
            snapshot = (row.tenant, row.name, row.version, row.weight, row.target_weight)
            status: Any = row.status
            state = State(
                status,
                row.step,
                row.weight,
                row.step_started_at,
                row.failures,
                frozenset(row.passed or []),
            )
        tenant, name, version, weight, target = snapshot
        try:
            plan = plan_of(config, tenant, name)
        except NotFound:
            return self._fail(
                rollout_id, token, None, "the rollout plan is no longer in the config", []
            )
        traffic = self.traffic(plan)
        # after a restart between "about to change" and "changed": believe the actuator, or 0 %
        if target is not None:
            actual = self._read(traffic)
            if actual not in (weight, target):
                return self._fail(
                    rollout_id,
                    token,
                    plan,
                    "after a restart the traffic weight could not be known "
                    f"(expected {target} %, read {actual})",
                    [],
                )
            state = State(
                state.status,
                state.step,
                int(actual),
                state.step_started_at,
                state.failures,
                state.passed,
            )
        else:
            actual = self._read(traffic)
            if actual is not None and actual != weight:
                return self._fail(
                    rollout_id,
                    token,
                    plan,
                    f"the traffic weight changed outside opsbook (expected {weight} %, found {actual} %)",
                    [],
                )
        results = evaluate(plan, version, self.query)
        now = self.clock.now()
        d = decide(plan, state, results, now)
        if d.action == "rollback":
            return self._fail(rollout_id, token, plan, d.reason, results)
        if d.action in ("advance", "succeed") and d.state.weight != state.weight:
            if not self._store(rollout_id, token, plan, results, d.state, target=d.state.weight):
                return None
            try:
                traffic.set(d.state.weight)
            except ActuatorError as exc:
                return self._fail(
                    rollout_id,
                    token,
                    plan,
                    f"could not shift traffic to {d.state.weight} %: {exc.detail}",
                    results,
                )
        finished = d.action == "succeed"
        if not self._store(
            rollout_id,
            token,
            plan,
            results,
            d.state,
            target=None,
            event=d.action if d.action != "hold" else None,
            reason=d.reason,
            finished=finished,
        ):
            return None
        return Tick(d.action, d.reason)

    def _read(self, traffic: Traffic) -> int | None:
        try:
            return traffic.read()
        except ActuatorError:
            return None

    def _store(
        self, rollout_id: str, token: str, plan: Rollout, results: list[GateResult], st: State,
        *, target: int | None, event: str | None = None, reason: str = "", finished: bool = False,
    ) -> bool:  # fmt: skip
        now = self.clock.now()
        with self.sessions.begin() as s:
            row = self._held(s, rollout_id, token)
            if row is None:
                return False
            if target is not None:  # about to change the weight: say so first
                row.target_weight, row.updated_at = target, now
                return True
            if results:
                row.evaluations = [
                    *(row.evaluations or []),
                    *_evaluation_rows(now, row.weight, results),
                ][-EVALUATIONS_KEPT:]
            changed = st.weight != row.weight or st.step != row.step
            row.step, row.weight, row.target_weight = st.step, st.weight, None
            row.failures, row.passed, row.step_started_at = (
                st.failures,
                sorted(st.passed),
                st.step_started_at,
            )
            row.updated_at = now
            if event and (changed or finished):
                _event(
                    row,
                    now,
                    "succeeded" if finished else "step",
                    weight=st.weight,
                    step=st.step + 1,
                    reason=reason,
                )
            if finished:
                _finish(row, "succeeded", now, "every step passed its gates")
                log.info("rollout_succeeded", rollout=row.id, service=row.service)
                return True
            row.seq += 1
            row.lease_until, row.lease_token = None, None
            _queue_tick(s, row, now + plan.interval)
        return True

    def _fail(
        self,
        rollout_id: str,
        token: str,
        plan: Rollout | None,
        reason: str,
        results: list[GateResult],
    ) -> Tick:
        """Traffic to 0 % at once, then the rollout fails and an incident opens with the evidence."""
        zero_error = ""
        if plan is not None:
            try:
                self.traffic(plan).set(0)
            except ActuatorError as exc:
                zero_error = f" — and traffic could NOT be set to 0 %: {exc.detail}"
        now = self.clock.now()
        config = self.config()
        with self.sessions.begin() as s:
            row = self._held(s, rollout_id, token)
            if row is None:
                return Tick("fenced", reason)
            at_weight = row.weight
            row.evaluations = [
                *(row.evaluations or []),
                *_evaluation_rows(now, at_weight, results),
            ][-EVALUATIONS_KEPT:]
            row.weight = 0 if not zero_error else row.weight
            row.target_weight = None
            _event(
                row,
                now,
                "rolled_back",
                weight=row.weight,
                at_weight=at_weight,
                reason=reason + zero_error,
            )
            _finish(row, "failed", now, reason + zero_error)
            svc = config.service(row.tenant, row.service)
            if svc is not None and plan is not None:
                why = reason + zero_error
                f = Failure(row.id, row.version, at_weight, row.weight, why, tuple(row.events))
                catalog = self.catalog() if self.catalog else None
                row.incident_id = open_incident(s, config, svc, plan, f, results, now, catalog)
        log.warning("rollout_rolled_back", rollout=rollout_id, reason=reason)
        return Tick("rollback", reason + zero_error)


def evaluate(
    plan: Rollout,
    version: str,
    query: Query = prometheus_query,
    *,
    canary: str | None = None,
    stable: str | None = None,
) -> list[GateResult]:
    """Every gate of ``plan`` judged now; a query Prometheus refuses or cannot answer counts as
    no data (inconclusive, or a failure where the gate says ``on_no_data: fail``)."""
    default_canary, default_stable = names(plan.actuator)
    canary, stable = canary or default_canary, stable or default_stable
    out = []
    for gate in plan.gates:
        q = render_query(gate.query, canary=canary, stable=stable, version=version)
        try:
            value = query(plan.prometheus, q)
            base = None
            if gate.baseline:
                bq = render_query(gate.baseline, canary=canary, stable=stable, version=version)
                base = query(plan.prometheus, bq)
        except (ActuatorError, InputError) as exc:
            verdict: Any = "fail" if gate.on_no_data == "fail" else "inconclusive"
            out.append(GateResult(gate.name, None, None, verdict, exc.detail))
            continue
        out.append(judge(gate, value, base))
    return out


def _evaluation_rows(at: datetime, weight: int, results: list[GateResult]) -> list[dict[str, Any]]:
    num = _finite
    return [
        {"at": isoformat(at), "weight": weight, "gate": r.gate, "value": num(r.value),
         "baseline": num(r.baseline), "verdict": r.verdict, "reason": r.reason}
        for r in results
    ]  # fmt: skip


@dataclass(frozen=True)
class Failure:
    """What the incident of a failed rollout says: which rollout, where it stood, and why."""

    rollout_id: str
    version: str
    at_weight: int  # -1: a rollout engine reported it (opsbook did not drive the traffic)
    weight_now: int
    reason: str
    events: tuple[dict[str, Any], ...] = ()
    canary: str | None = None
    stable: str | None = None


def _says_rollback(*texts: str) -> bool:
    words = " ".join(texts).lower().replace("-", " ")
    return "rollback" in words or "roll back" in words


def rollback_section(
    catalog: RunbookCatalog, tenant: str, plan: Rollout
) -> tuple[Runbook, Section, list[int]] | None:
    """Where the rollback is written, and the (1-based) numbers of its steps in that section:
    the plan's ``rollback.runbook`` (FILE#SECTION), else the first section of the service's
    runbooks whose heading says rollback (all its steps), else the first phase that does
    (a "Rollback" heading read as a phase of its section: that phase's steps)."""
    books = catalog.for_service(tenant, plan.service)

    def everything(section: Section) -> list[int]:
        return list(range(1, len(section.steps) + 1))

    if plan.rollback.runbook:
        ref = section_ref(catalog, tenant, plan.service, plan.rollback.runbook)
        return (*ref, everything(ref[1])) if ref else None
    for rb in books:
        for section in rb.sections:
            if _says_rollback(section.id, section.heading):
                return rb, section, everything(section)
    for rb in books:
        for section in rb.sections:
            index = 0
            for phase in section.phases:
                numbers = list(range(index + 1, index + len(phase.steps) + 1))
                index += len(phase.steps)
                if _says_rollback(phase.label) and numbers:
                    return rb, section, numbers
    return None


def _bind_rollback(
    s: Session, config: Config, catalog: RunbookCatalog, inc: Incident, plan: Rollout, now: datetime
) -> None:
    """Give the incident the rollback section (when intake matched none) and ask to run its
    rollback commands through the normal step gate; ``rollback.preapproved`` approves them in
    the name of the rollback policy where one approval suffices, the rest wait for people."""
    found = rollback_section(catalog, inc.tenant, plan)
    if found is None:
        repos.add_entry(s, inc, now, "opsbook", EntryKind.COMMENT.value,
                        f"no rollback section found for rollout {plan.name}: roll back by hand")  # fmt: skip
        return
    rb, section, numbers = found
    if inc.section_id is None:
        inc.runbook_id, inc.runbook_path = runbook_id(rb.path), rb.path
        inc.section_id, inc.section_heading, inc.match_rule = section.id, section.heading, "rollout"
        repos.add_entry(s, inc, now, "opsbook", EntryKind.RUNBOOK_MATCHED.value,
                        f"rollback: {rb.path}#{section.id} ({section.heading})",
                        {"runbook_id": inc.runbook_id, "section_id": section.id})  # fmt: skip
    elif (inc.runbook_id, inc.section_id) != (runbook_id(rb.path), section.id):
        repos.add_entry(s, inc, now, "opsbook", EntryKind.COMMENT.value,
                        f"rollback steps are in {rb.path}#{section.id}; run them from there")  # fmt: skip
        return
    from opsbook.flows import steps as step_flows

    actor = f"rollback-policy:{plan.name}"
    numbered = section.steps
    for index in numbers:
        st = numbered[index - 1]
        if not st.executable or st.interactive:
            continue
        loc = step_flows.locate(catalog, inc, index)
        try:
            with s.begin_nested():
                step_flows.request_run(
                    s, config, catalog, inc.tenant, inc.id, index, actor=actor, role="commander",
                    variables={}, now=now, approve=plan.rollback.preapproved,
                    confirmation=step_flows.confirmation_phrase(loc),
                )  # fmt: skip
        except OpsbookError as first:
            if not plan.rollback.preapproved:
                log.info("rollback_step_not_requested", step=index, why=first.detail)
                continue
            try:  # one approval does not suffice for this step: it waits for people
                with s.begin_nested():
                    step_flows.request_run(
                        s, config, catalog, inc.tenant, inc.id, index, actor=actor,
                        role="commander", variables={}, now=now,
                    )  # fmt: skip
            except OpsbookError as exc:
                log.info("rollback_step_not_requested", step=index, why=exc.detail)


def open_incident(
    s: Session, config: Config, svc: Service, plan: Rollout, f: Failure,
    results: list[GateResult], now: datetime, catalog: RunbookCatalog | None = None,
) -> str | None:  # fmt: skip
    """Raise the rollout's alert through intake (so it routes, groups and pages as any alert) and
    put the gate's queries, values and the rollout's steps on the incident's timeline."""
    from opsbook.flows.checks import raise_own

    labels = {
        "alertname": "RolloutFailed", "service": svc.name, "rollout": plan.name,
        "version": f.version, "severity": plan.severity.value,
    }  # fmt: skip
    reason, at_weight = f.reason, f.at_weight
    where = f"rolled back at {at_weight} %" if at_weight >= 0 else "failed"
    summary = f"{svc.name}: rollout of {f.version} {where} — {reason}"
    annotations = {"summary": summary[:500], "description": reason[:2000]}
    _, res = raise_own(
        s, config, svc, labels, annotations, EventAction.TRIGGER, now,
        finder=catalog.match if catalog is not None else None,
        group_by=["alertname", "rollout", "version"], source=SOURCE,
    )  # fmt: skip
    incident_id = next((i for i in res.incident_ids if i), None)
    if incident_id is None:  # silenced or in maintenance: kept, no incident
        return None
    inc = s.get(Incident, incident_id)
    if inc is None:
        return None
    default_canary, default_stable = names(plan.actuator)
    canary, stable = f.canary or default_canary, f.stable or default_stable
    for r in results:
        gate = next((g for g in plan.gates if g.name == r.gate), None)
        if gate is None:
            continue
        query = render_query(gate.query, canary=canary, stable=stable, version=f.version)
        repos.add_entry(
            s, inc, now, "opsbook", EntryKind.COMMENT.value,
            f"rollout gate {r.gate} {r.verdict}: {r.reason} (query: {query})",
            {"rollout": f.rollout_id, "gate": r.gate, "query": query, "value": _finite(r.value)},
        )  # fmt: skip
    steps = ", ".join(f"{x.weight} %" for x in plan.steps)
    history = "; ".join(
        f"{e['at']} {e['event']}" + (f" {e['weight']} %" if "weight" in e else "")
        for e in f.events[-20:]
    )
    repos.add_entry(
        s, inc, now, "opsbook", EntryKind.COMMENT.value,
        f"rollout {plan.name} of {f.version} (steps {steps}) {where}: "
        f"traffic is at {f.weight_now} %. History: {history or '-'}",
        {"rollout": f.rollout_id, "steps": [x.weight for x in plan.steps], "at_weight": at_weight},
    )  # fmt: skip
    if catalog is not None:
        _bind_rollback(s, config, catalog, inc, plan, now)
    return incident_id
