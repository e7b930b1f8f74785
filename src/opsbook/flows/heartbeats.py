"""Heartbeats (dead man's switches): record pings, and let the worker page when they stop.

* A ping (``POST /api/v1/heartbeats/<name>/ping``, or the heartbeat's bound always-firing alert
  such as ``Watchdog`` through intake) stores ``last_ping_at``; a late heartbeat becomes ``up``
  and its incident's alert resolves, in the same transaction.
* ``heartbeats.sweep`` runs every few seconds in the worker, chained like ``checks.sweep``
  (the successor's id is derived from the next slot, so workers and restarts never make two
  chains). For each configured heartbeat it makes the state row if missing (``waiting``, known
  since now), and flips an overdue one — no ping for ``interval + grace`` since the last ping
  (or since it was first known) — to ``late`` by compare-and-set, raising a
  ``HeartbeatMissing`` alert on the heartbeat's service with its severity: the incident opens
  and pages through the service's escalation policy like any other.
* Everything lives in ``heartbeat_states``, so a restart loses no ping and no lateness.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from opsbook.config.durations import format_duration
from opsbook.config.heartbeats import Heartbeat
from opsbook.config.models import Config
from opsbook.core.clock import Clock, isoformat
from opsbook.core.errors import NotFound, PermissionDenied
from opsbook.flows.checks import raise_alert
from opsbook.flows.runbook_catalog import RunbookCatalog
from opsbook.intake.models import AlertIn, EventAction
from opsbook.jobs.worker import JobKind
from opsbook.storage.db import insert_ignore
from opsbook.storage.jobs import SYSTEM_TENANT, enqueue_once, job_row
from opsbook.storage.tables import Job
from opsbook.storage.tables_heartbeats import HeartbeatStateRow

log = structlog.get_logger("opsbook.heartbeats")

SWEEP_JOB = "heartbeats.sweep"
SWEEP_EVERY = 5  # seconds between sweeps: lateness is noticed within this of its due time
ALERTNAME = "HeartbeatMissing"
SOURCE = "heartbeat"
STATES: Table = HeartbeatStateRow.__table__  # type: ignore[assignment]


def find(config: Config, tenant: str, name: str) -> Heartbeat:
    """The tenant's heartbeat ``name``, or NotFound (another tenant's is never found)."""
    for t, hb in config.heartbeat_tenants():
        if t == tenant and hb.name == name:
            return hb
    raise NotFound(f"no heartbeat {name!r} in this tenant (see `heartbeats:` in the config)")


def labels_of(hb: Heartbeat) -> dict[str, str]:
    """The labels of a heartbeat's alert (its identity: the fingerprint is computed over them)."""
    return {
        "alertname": ALERTNAME,
        "heartbeat": hb.name,
        "service": hb.service,
        "severity": hb.severity.value,
    }


def _raise(
    s: Session,
    config: Config,
    tenant: str,
    hb: Heartbeat,
    action: EventAction,
    now: datetime,
    last: datetime | None,
    finder: Any = None,
) -> None:
    """Send the heartbeat's alert into the intake pipeline (same transaction)."""
    svc = config.service(tenant, hb.service)
    if svc is None:  # the config validator makes this impossible; a reload race is not a crash
        return
    labels = labels_of(hb)
    if action is EventAction.TRIGGER:
        seen = f"last ping {isoformat(last)}" if last else "no ping since it was set up"
        summary = hb.summary or (
            f"heartbeat {hb.name} missed: no ping for {format_duration(hb.timeout)} ({seen})"
        )
    else:
        summary = f"heartbeat {hb.name} is pinging again"
    annotations = {
        "summary": summary,
        "description": f"expected a ping every {format_duration(hb.interval)} "
        f"(+{format_duration(hb.grace)} grace)"
        + (f" or the always-firing alert {hb.alert}" if hb.alert else ""),
    }
    raise_alert(s, config, svc, labels, annotations, action, now, finder=finder,
                group_by=["alertname", "heartbeat"], source=SOURCE)  # fmt: skip


def ping(
    s: Session,
    config: Config,
    tenant: str,
    name: str,
    now: datetime,
    *,
    via: str,
    integration: str | None,
    finder: Any = None,
) -> HeartbeatStateRow:
    """Record one ping; a late heartbeat is up again and its alert resolves. A heartbeat bound
    to an integration takes pings from that integration's tokens only (PermissionDenied)."""
    hb = find(config, tenant, name)
    if hb.integration is not None and integration != hb.integration:
        raise PermissionDenied(
            f"heartbeat {name!r} takes pings from the {hb.integration!r} integration's tokens only"
        )
    row = s.get(HeartbeatStateRow, (tenant, name), with_for_update=True)
    if row is None:
        row = HeartbeatStateRow(
            tenant=tenant, name=name, service=hb.service, status="waiting", since=now,
            last_ping_at=None, last_ping_via=None, pings=0, late_count=0,
        )  # fmt: skip
        s.add(row)
    was_late = row.status == "late"
    row.last_ping_at, row.last_ping_via = now, via[:32]
    row.pings = (row.pings or 0) + 1
    row.service = hb.service
    if row.status != "up":
        row.status, row.since = "up", now
    s.flush()
    if was_late:
        _raise(s, config, tenant, hb, EventAction.RESOLVE, now, now, finder)
        log.info("heartbeat_recovered", tenant=tenant, heartbeat=name, via=via)
    return row


def bound_alerts(config: Config, tenant: str, integration: str | None) -> dict[str, Heartbeat]:
    """alertname → the tenant's heartbeat bound to it whose integration (if any) is this one."""
    return {
        hb.alert: hb
        for t, hb in config.heartbeat_tenants()
        if t == tenant and hb.alert and hb.integration in (None, integration)
    }


def take_pings(
    config: Config, tenant: str, integration: str | None, alerts: Sequence[AlertIn]
) -> tuple[list[AlertIn], list[str]]:
    """Split a batch: the bound always-firing alerts (firing: a ping; resolved: nothing) out,
    the rest to ingest. Returns (rest, names of the heartbeats pinged)."""
    bound = bound_alerts(config, tenant, integration) if config.heartbeats else {}
    if not bound:
        return list(alerts), []
    rest: list[AlertIn] = []
    names: list[str] = []
    for a in alerts:
        hb = bound.get(a.alertname)
        if hb is None:
            rest.append(a)
        elif a.action is EventAction.TRIGGER and hb.name not in names:
            names.append(hb.name)
    return rest, names


# -- the sweep -----------------------------------------------------------------------------------


def _sweep_row(at: datetime) -> dict[str, Any]:
    slot = math.floor(at.timestamp() / SWEEP_EVERY) * SWEEP_EVERY
    row = job_row(SYSTEM_TENANT, SWEEP_JOB, {}, at)
    run_after = datetime.fromtimestamp(slot, tz=at.tzinfo)
    return {**row, "id": f"heartbeats-sweep-{slot}", "run_after": run_after}


def _new_state(tenant: str, hb: Heartbeat, now: datetime) -> dict[str, Any]:
    return {
        "tenant": tenant, "name": hb.name, "service": hb.service, "status": "waiting",
        "since": now, "last_ping_at": None, "last_ping_via": None, "pings": 0, "late_count": 0,
    }  # fmt: skip


def due_at(row: HeartbeatStateRow, hb: Heartbeat) -> datetime:
    """When the heartbeat is overdue: ``interval + grace`` after its last ping (or first sight)."""
    return (row.last_ping_at or row.since) + hb.timeout


def sweep(s: Session, config: Config, now: datetime, finder: Any = None) -> list[str]:
    """Make missing state rows and raise the alert of every heartbeat that just became overdue
    (compare-and-set: each lateness is raised once). Returns ``tenant/name`` of those raised."""
    todo = config.heartbeat_tenants()
    if not todo:
        return []
    insert_ignore(s, STATES, [_new_state(t, hb, now) for t, hb in todo])
    rows = {(r.tenant, r.name): r for r in s.scalars(select(HeartbeatStateRow))}
    raised = []
    for tenant, hb in todo:
        row = rows.get((tenant, hb.name))
        if row is None or row.status == "late" or now < due_at(row, hb):
            continue
        res = s.execute(
            update(STATES)
            .where(STATES.c.tenant == tenant, STATES.c.name == hb.name,
                   STATES.c.status == row.status, STATES.c.pings == row.pings)
            .values(status="late", since=now, late_count=STATES.c.late_count + 1)
        )  # fmt: skip
        if res.rowcount != 1:  # type: ignore[attr-defined]
            continue  # pinged, or another worker raised it, since we read the row
        _raise(s, config, tenant, hb, EventAction.TRIGGER, now, row.last_ping_at, finder)
        raised.append(f"{tenant}/{hb.name}")
        log.warning("heartbeat_late", tenant=tenant, heartbeat=hb.name, service=hb.service)
    return raised


def ensure_chain(s: Session, config: Config, now: datetime) -> bool:
    """Queue the current sweep slot's job if the config has heartbeats (idempotent)."""
    if not config.heartbeats:
        return False
    enqueue_once(s, [_sweep_row(now)])
    return True


class HeartbeatWatch:
    """The ``heartbeats.sweep`` job kind over one database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: Callable[[], Config],
        catalog: Callable[[], RunbookCatalog],
        clock: Clock,
    ) -> None:
        self.sessions, self.config, self.catalog, self.clock = sessions, config, catalog, clock

    def job_kinds(self) -> dict[str, JobKind]:
        """The job kind; also seeds the sweep chain when the config has heartbeats."""
        try:
            with self.sessions.begin() as s:
                ensure_chain(s, self.config(), self.clock.now())
        except Exception as exc:  # noqa: BLE001 - the worker must start even if this fails
            log.warning("heartbeats_seed_failed", error=str(exc))
        never_again: Callable[[Session, Job], bool] = lambda _s, _j: False  # noqa: E731
        return {
            SWEEP_JOB: JobKind(run=self.run, on_expired=never_again, lease=timedelta(minutes=1))
        }

    def run(self, _payload: Mapping[str, Any]) -> None:
        """One sweep; its successor is queued first, so a failing sweep never ends the chain."""
        config, now = self.config(), self.clock.now()
        if not config.heartbeats:
            return  # the chain ends; a ping or the next worker start seeds it again
        with self.sessions.begin() as s:
            enqueue_once(s, [_sweep_row(now + timedelta(seconds=SWEEP_EVERY))])
        with self.sessions.begin() as s:
            sweep(s, config, now, finder=self.catalog().match)
            s.execute(
                delete(Job)
                .where(Job.kind == SWEEP_JOB, Job.status == "done",
                       Job.run_after < now - timedelta(minutes=1))
                .execution_options(synchronize_session=False)
            )  # fmt: skip


def views(
    s: Session, config: Config, tenant: str | None, now: datetime
) -> Iterable[dict[str, Any]]:
    """Each configured heartbeat of ``tenant`` (or all) with its stored state, as plain data."""
    rows = {(r.tenant, r.name): r for r in s.scalars(select(HeartbeatStateRow))}
    for t, hb in config.heartbeat_tenants():
        if tenant is not None and t != tenant:
            continue
        row = rows.get((t, hb.name))
        due = due_at(row, hb) if row is not None else None
        yield {
            "tenant": t,
            "name": hb.name,
            "service": hb.service,
            "status": row.status if row else "waiting",
            "since": isoformat(row.since) if row else None,
            "last_ping_at": isoformat(row.last_ping_at) if row else None,
            "last_ping_via": row.last_ping_via if row else None,
            "pings": row.pings if row else 0,
            "due_at": isoformat(due),
            "overdue": bool(due is not None and now >= due),
            "interval": hb.interval.total_seconds(),
            "grace": hb.grace.total_seconds(),
            "severity": hb.severity.value,
            "alert": hb.alert,
            "integration": hb.integration,
        }
