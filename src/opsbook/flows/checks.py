"""Health checks in the worker: schedule each check once per interval across workers, probe,
advance its state machine, and raise or resolve its alert through the intake pipeline.

Scheduling uses the durable job queue and one row per check in ``check_states``:

* ``checks.sweep`` runs about once a second. Its successor is enqueued *first*, with an id
  derived from the next second (``checks-sweep-<epoch>``), so several workers — or a restart —
  never make two chains, and a worker dying mid-sweep does not stop the chain.
* The sweep claims each due check by compare-and-set on its row (``next_run_at <= now`` and no
  live lease), moves ``next_run_at`` one interval on, leases the row for ``timeout + 2 s`` with a
  fresh token, and enqueues a ``checks.run`` job. So each check runs once per interval however
  many workers there are, and a check whose worker died is claimed again by the first sweep
  after its lease ends: within ``max(every, timeout + 2 s)``.
* ``checks.run`` probes, then stores the result only if it still holds the lease token (a late
  worker whose lease was taken over is fenced off), and ingests ``fire``/``resolve`` as an
  alert from source ``check`` in the same transaction.

The chain is seeded when the worker's job kinds are built (``job_kinds()``) and only while the
configuration has checks or SLOs, so deployments without them see no extra jobs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Table, delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from opsbook.checks.probes import run_probe
from opsbook.checks.state import CheckState, Rule, advance
from opsbook.config.checks import Check
from opsbook.config.models import Config, Route, Service
from opsbook.core.clock import Clock, isoformat
from opsbook.core.ids import new_id
from opsbook.executors import StepResult
from opsbook.flows.ingest import IngestBatch, IngestResult, ingest_many
from opsbook.flows.runbook_catalog import RunbookCatalog
from opsbook.flows.steps import context_for
from opsbook.intake.fingerprint import fingerprint
from opsbook.intake.models import AlertIn, EventAction
from opsbook.jobs.worker import JobKind
from opsbook.storage.db import insert_ignore
from opsbook.storage.jobs import SYSTEM_TENANT, enqueue_once, job_row, severity_priority
from opsbook.storage.tables import Job
from opsbook.storage.tables_checks import CheckStateRow

log = structlog.get_logger("opsbook.checks")

SWEEP_JOB = "checks.sweep"
RUN_JOB = "checks.run"
HISTORY = 20
"""Runs kept per check for the latency history (API, CLI)."""
LEASE_MARGIN = timedelta(seconds=2)
INTEGRATION = "check"
STATES: Table = CheckStateRow.__table__  # type: ignore[assignment]
JOBS: Table = Job.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Item:
    """Something to run on a schedule: a check or an SLO of a service."""

    tenant: str
    service: str
    kind: str  # check | slo
    name: str
    every: timedelta
    timeout: timedelta
    severity: str = "P1"  # of the alert it raises: its run is queued with that priority

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.tenant, self.service, self.kind, self.name)


def items(config: Config) -> list[Item]:
    """Every check and SLO in the configuration."""
    out = []
    for svc in config.services:
        for c in svc.checks:
            out.append(
                Item(svc.tenant, svc.name, "check", c.name, c.every, c.timeout, c.severity.value)
            )
        for slo in svc.slos:
            out.append(
                Item(
                    svc.tenant,
                    svc.name,
                    "slo",
                    slo.name,
                    slo.every,
                    timedelta(seconds=30),
                    slo.page_severity.value,
                )
            )
    return out


def find_check(config: Config, tenant: str, service: str, name: str) -> tuple[Service, Check]:
    """The service and check, or LookupError."""
    svc = config.service(tenant, service)
    check = next((c for c in svc.checks if c.name == name), None) if svc else None
    if svc is None or check is None:
        raise LookupError(f"no check {name!r} on service {service!r}")
    return svc, check


def _sweep_row(at: datetime) -> dict[str, Any]:
    slot = math.floor(at.timestamp())
    row = job_row(SYSTEM_TENANT, SWEEP_JOB, {}, at)
    return {**row, "id": f"checks-sweep-{slot}", "run_after": at.replace(microsecond=0)}


def routed(config: Config, svc: Service, group_by: list[str]) -> Config:
    """The config with a last-resort route sending this service's own alerts to it, so a check
    alert no route claims goes to its service rather than the tenant's catch-all."""
    fallback = Route(
        tenant=svc.tenant, match={"service": svc.name}, service=svc.name, group_by=group_by
    )
    return config.model_copy(update={"routes": [*config.routes, fallback]})


def raise_own(
    s: Session,
    config: Config,
    svc: Service,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    action: EventAction,
    now: datetime,
    *,
    finder: Any = None,
    group_by: list[str] | None = None,
    source: str = INTEGRATION,
) -> tuple[AlertIn, IngestResult]:
    """Send one alert opsbook raised itself (a check, SLO, heartbeat, rollout) into the intake
    pipeline, in the caller's transaction, routed to ``svc`` when no route claims it."""
    alert = AlertIn(
        source=source,
        fingerprint=fingerprint(labels),
        action=action,
        labels=dict(labels),
        annotations=dict(annotations),
        starts_at=now,
        ends_at=now if action == EventAction.RESOLVE else None,
    )
    cfg = routed(config, svc, group_by or ["alertname", "check"])
    batch = IngestBatch(svc.tenant, source, [alert])
    return alert, ingest_many(s, cfg, [batch], now, finder=finder)[0]


def raise_alert(
    s: Session,
    config: Config,
    svc: Service,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    action: EventAction,
    now: datetime,
    *,
    finder: Any = None,
    group_by: list[str] | None = None,
    source: str = INTEGRATION,
) -> AlertIn:
    """:func:`raise_own` when only the alert matters (its fingerprint), not where it went."""
    return raise_own(
        s, config, svc, labels, annotations, action, now,
        finder=finder, group_by=group_by, source=source,
    )[0]  # fmt: skip


def check_labels(svc: Service, check: Check) -> dict[str, str]:
    """The labels of a check's alert (its identity: the fingerprint is computed over them)."""
    return {
        **check.labels,
        "alertname": check.alert,
        "service": svc.name,
        "check": check.name,
        "severity": check.severity.value,
    }


def history_entry(at: datetime, res: StepResult, due: datetime | None = None) -> dict[str, Any]:
    """One run in the history; ``due`` is the slot it was claimed for (a late run shows it)."""
    entry = {"at": isoformat(at), "status": res.status, "latency_ms": round(res.duration_ms, 1)}
    if due is not None:
        entry["due"] = isoformat(due)
    return entry


def record_result(
    s: Session,
    config: Config,
    svc: Service,
    check: Check,
    res: StepResult,
    now: datetime,
    token: str | None,
    finder: Any = None,
    due: datetime | None = None,
) -> str | None:
    """Store one probe result, advance the state machine and raise/resolve the alert.
    Returns the event (``fire``/``resolve``) or None; does nothing when ``token`` is given
    and no longer holds the lease."""
    row = s.get(CheckStateRow, (svc.tenant, svc.name, "check", check.name), with_for_update=True)
    if row is None:
        row = CheckStateRow(
            tenant=svc.tenant, service=svc.name, kind="check", name=check.name, status="unknown",
            successes=0, failures=0, next_run_at=now + check.every, history=[],
        )  # fmt: skip
        s.add(row)
    elif token is not None and row.lease_token != token:
        log.warning("check_result_fenced", check=check.name, service=svc.name)
        return None
    state = CheckState(row.status, row.since, row.failing_since, row.successes, row.failures)  # type: ignore[arg-type]
    new, event = advance(state, res.ok, now, Rule(check.for_, check.recover_after))
    row.status, row.since, row.failing_since = new.status, new.since, new.failing_since
    row.successes, row.failures = new.successes, new.failures
    row.last_run_at = now
    row.last_result = {k: v for k, v in res.to_dict().items() if k != "blocks"}
    row.history = [*(row.history or []), history_entry(now, res, due)][-HISTORY:]
    if token is not None:
        row.lease_until, row.lease_token = None, None
    if event is not None:
        labels = check_labels(svc, check)
        summary = check.summary or f"{svc.name}: check {check.name} is failing"
        annotations = {
            "summary": summary if event == "fire" else f"{svc.name}: check {check.name} recovered",
            "description": res.summary,
            "check_kind": check.kind,
        }
        action = EventAction.TRIGGER if event == "fire" else EventAction.RESOLVE
        alert = raise_alert(s, config, svc, labels, annotations, action, now, finder=finder)
        row.fingerprint = alert.fingerprint
        log.info("check_" + event, check=check.name, service=svc.name, result=res.summary)
    return event


class CheckScheduler:
    """The ``checks.sweep`` and ``checks.run`` job kinds over one database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: Callable[[], Config],
        catalog: Callable[[], RunbookCatalog],
        clock: Clock,
    ) -> None:
        self.sessions, self.config, self.catalog, self.clock = sessions, config, catalog, clock

    def job_kinds(self) -> dict[str, JobKind]:
        """The job kinds; also seeds the sweep chain when the config has checks or SLOs."""
        try:
            self.ensure_sweep()
        except Exception as exc:  # noqa: BLE001 - the worker must start even if this fails
            log.warning("checks_seed_failed", error=str(exc))
        never_again: Callable[[Session, Job], bool] = lambda _s, _j: False  # noqa: E731
        return {
            SWEEP_JOB: JobKind(run=self._sweep_job, on_expired=never_again,
                               lease=timedelta(minutes=1)),
            RUN_JOB: JobKind(run=self.run, on_expired=never_again, lease=timedelta(minutes=1)),
        }  # fmt: skip

    def _sweep_job(self, _payload: Mapping[str, Any]) -> None:
        self.sweep()

    def ensure_sweep(self) -> bool:
        """Queue the next sweep if there is anything to run; True when one is queued."""
        if not items(self.config()):
            return False
        with self.sessions.begin() as s:
            enqueue_once(s, [_sweep_row(self.clock.now())])
        return True

    def sweep(self) -> list[Item]:
        """Claim every due check and SLO and queue a run for each; returns what was claimed."""
        now = self.clock.now()
        todo = items(self.config())
        if not todo:
            return []
        claimed: list[Item] = []
        with self.sessions.begin() as s:
            enqueue_once(s, [_sweep_row(now + timedelta(seconds=1))])
            insert_ignore(s, STATES, [_new_state(i, now) for i in todo])
            due = {
                (r.tenant, r.service, r.kind, r.name): r.next_run_at
                for r in s.execute(
                    select(STATES.c.tenant, STATES.c.service, STATES.c.kind, STATES.c.name,
                           STATES.c.next_run_at).where(
                        STATES.c.next_run_at <= now,
                        or_(STATES.c.lease_until.is_(None), STATES.c.lease_until < now),
                    )
                )
            }  # fmt: skip
            for item in todo:
                if item.key not in due:
                    continue
                token = self._claim(s, item, due[item.key], now)
                if token is not None:
                    claimed.append(item)
                    payload = dict(
                        zip(("tenant", "service", "kind", "name"), item.key, strict=True)
                    )
                    s.execute(JOBS.insert().values(
                        job_row(item.tenant, RUN_JOB,
                                {**payload, "token": token, "due": isoformat(due[item.key])}, now,
                                priority=severity_priority(item.severity))))  # fmt: skip
            s.execute(
                delete(Job)
                .where(Job.kind.in_((SWEEP_JOB, RUN_JOB)), Job.status == "done",
                       Job.run_after < now - timedelta(minutes=1))
                .execution_options(synchronize_session=False)
            )  # fmt: skip
        return claimed

    @staticmethod
    def _claim(s: Session, item: Item, was_due: datetime, now: datetime) -> str | None:
        """Compare-and-set: lease the row and move its next run on; None if someone else did."""
        nxt = was_due + item.every
        if nxt <= now:
            nxt = now + item.every
        token = new_id("lease")[:40]
        tenant, service, kind, name = item.key
        res = s.execute(
            update(STATES)
            .where(
                STATES.c.tenant == tenant, STATES.c.service == service, STATES.c.kind == kind,
                STATES.c.name == name, STATES.c.next_run_at <= now,
                or_(STATES.c.lease_until.is_(None), STATES.c.lease_until < now),
            )
            .values(next_run_at=nxt, lease_until=now + item.timeout + LEASE_MARGIN,
                    lease_token=token)
        )  # fmt: skip
        return token if res.rowcount == 1 else None  # type: ignore[attr-defined]

    def run(self, payload: Mapping[str, Any]) -> None:
        """Run one claimed check or SLO evaluation."""
        tenant, service, kind, name = (
            str(payload[k]) for k in ("tenant", "service", "kind", "name")
        )
        token = str(payload["token"])
        config = self.config()
        if kind == "slo":
            from opsbook.flows.slos import evaluate_and_record

            evaluate_and_record(self.sessions, config, tenant, service, name, token, self.clock,
                                finder=self.catalog().match)  # fmt: skip
            return
        try:
            svc, check = find_check(config, tenant, service, name)
        except LookupError:
            return  # removed by a reload; its row is left for history
        res = run_probe(check, context_for(svc, {}, check.timeout))
        with self.sessions.begin() as s:
            record_result(s, config, svc, check, res, self.clock.now(), token,
                          finder=self.catalog().match, due=_due(payload))  # fmt: skip


def _due(payload: Mapping[str, Any]) -> datetime | None:
    """The slot a run was claimed for (runs queued before it was recorded have none)."""
    raw = payload.get("due")
    return datetime.fromisoformat(str(raw).replace("Z", "+00:00")) if raw else None


def _new_state(item: Item, now: datetime) -> dict[str, Any]:
    return {
        "tenant": item.tenant, "service": item.service, "kind": item.kind, "name": item.name,
        "status": "unknown", "since": None, "failing_since": None, "successes": 0, "failures": 0,
        "fingerprint": None, "next_run_at": now, "lease_until": None, "lease_token": None,
        "last_run_at": None, "last_result": None, "history": [],
    }  # fmt: skip


def state_rows(s: Session, tenant: str | None, kind: str) -> dict[tuple[str, str], CheckStateRow]:
    """Stored states by (service, name), for one tenant (or all)."""
    q = select(CheckStateRow).where(CheckStateRow.kind == kind)
    if tenant is not None:
        q = q.where(CheckStateRow.tenant == tenant)
    return {(r.service, r.name): r for r in s.scalars(q)}


def check_views(
    config: Config, rows: Mapping[tuple[str, str], CheckStateRow], tenant: str | None
) -> Iterable[dict[str, Any]]:
    """Each configured check with its stored state, as plain data (API, CLI, metrics)."""
    for svc in config.services:
        if tenant is not None and svc.tenant != tenant:
            continue
        for c in svc.checks:
            row = rows.get((svc.name, c.name))
            yield {
                "tenant": svc.tenant,
                "service": svc.name,
                "name": c.name,
                "kind": c.kind,
                "alert": c.alert,
                "severity": c.severity.value,
                "every": c.every.total_seconds(),
                "for": c.for_.total_seconds(),
                "status": row.status if row else "unknown",
                "since": isoformat(row.since) if row else None,
                "last_run_at": isoformat(row.last_run_at) if row else None,
                "last_result": row.last_result if row else None,
                "history": list(row.history or []) if row else [],
            }


def metric_rows(
    sessions: sessionmaker[Session], config: Callable[[], Config]
) -> list[tuple[str, str, str, str, str | None, float | None]]:
    """(tenant, service, check, state, last status, last ms) of every configured check, for
    ``Metrics.watch_checks``."""
    with sessions() as s:
        rows = state_rows(s, None, "check")
    out = []
    for svc in config().services:
        for c in svc.checks:
            row = rows.get((svc.name, c.name))
            if row is not None and row.tenant != svc.tenant:
                row = None
            last = row.last_result if row else None
            out.append((
                svc.tenant, svc.name, c.name, row.status if row else "unknown",
                str(last["status"]) if last else None,
                float(last["duration_ms"]) if last else None,
            ))  # fmt: skip
    return out
