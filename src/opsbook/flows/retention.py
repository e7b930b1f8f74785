"""Retention: purge what ``retention:`` says is old enough, in short batches, and record it.

Each batch is its own transaction over at most ``batch`` rows picked by primary key (keyset:
``id > last ORDER BY id LIMIT n``), so a purge of a million rows never holds a lock for long
and intake keeps its latency; a pause between batches leaves room for other writers (SQLite
has one write lock). Never purged: the alerts of an open incident, anything of an incident
whose post-mortem is unfinished, incident rows unless ``incidents:`` says so. Incident
figures (MTTA, MTTR, counts) live on the incident row, which an alert purge never touches.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Table, delete, exists, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from opsbook.config.models import Config
from opsbook.config.retention import KINDS
from opsbook.core.clock import Clock
from opsbook.core.ids import new_id
from opsbook.flows import audit
from opsbook.jobs.worker import JobKind
from opsbook.storage import jobs
from opsbook.storage.tables import Alert, Base, Delivery, Incident, StepRun
from opsbook.storage.tables_audit import PurgeRow
from opsbook.storage.tables_learning import ActionItemRow, Postmortem

log = structlog.get_logger("opsbook.retention")

JOB = "retention.purge"
ENDED = ("resolved", "closed")
FINISHED_DELIVERIES = ("sent", "dead", "cancelled", "digested")
MAX_BATCHES_PER_JOB = 100
MIN_BATCH = 100
BATCH_SECONDS = 0.010
"""How long one batch may hold the database: batches shrink (halve) when one took longer and
grow (×1.5, up to ``retention.batch``) when one took under half of it, so a purge holds the
write lock for about this long at a time however fast the disk or busy the machine is."""


def next_size(size: int, took: float, largest: int) -> int:
    """The next batch's size after one of ``size`` rows took ``took`` seconds."""
    if took > BATCH_SECONDS:
        return max(MIN_BATCH, size // 2)
    if took < BATCH_SECONDS / 2:
        return min(largest, size + size // 2)
    return size


"""A job stops after this many batches and queues its continuation behind other work."""


@dataclass
class Outcome:
    """What one purge pass removed: (tenant, kind) → rows, and the batches it took."""

    rows: dict[tuple[str, str], int] = field(default_factory=dict)
    batches: int = 0
    complete: bool = True

    def total(self) -> int:
        return sum(self.rows.values())


def _ended_before(cutoff: datetime) -> Any:
    """Incidents that ended before ``cutoff`` and whose post-mortem (if any) is complete."""
    draft = exists().where(Postmortem.incident_id == Incident.id, Postmortem.status != "complete")
    return (
        Incident.status.in_(ENDED),
        Incident.open_key.is_(None),
        Incident.updated_at < cutoff,
        ~draft,
    )


def _alert_step(s: Session, tenant: str, cutoff: datetime, after: str, n: int) -> tuple[int, str]:
    """Delete up to ``n`` old alerts of the next ended incidents after ``after`` (by incident
    id), in the database (no ids travel to Python and back); the cursor moves past those
    incidents once they have none left. Returns (rows, cursor)."""
    old = exists().where(Alert.incident_id == Incident.id, Alert.last_received_at < cutoff)
    chunk = list(
        s.scalars(
            select(Incident.id)
            .where(Incident.tenant == tenant, Incident.id > after, old)
            .where(*_ended_before(cutoff))
            .order_by(Incident.id)
            .limit(50)
        )
    )
    if not chunk:
        return 0, after
    some = (
        select(Alert.id)
        .where(Alert.incident_id.in_(chunk), Alert.last_received_at < cutoff)
        .limit(n)
        .scalar_subquery()
    )
    rows = int(s.execute(delete(Alert).where(Alert.id.in_(some))).rowcount or 0)  # type: ignore[attr-defined]
    return rows, (chunk[-1] if rows < n else after)


def _delivery_ids(s: Session, tenant: str, cutoff: datetime, after: str, n: int) -> list[str]:
    q = (
        select(Delivery.id)
        .where(Delivery.tenant == tenant, Delivery.id > after, Delivery.created_at < cutoff)
        .where(Delivery.status.in_(FINISHED_DELIVERIES))
        .order_by(Delivery.id)
        .limit(n)
    )
    return list(s.scalars(q))


def _incident_ids(s: Session, tenant: str, cutoff: datetime, after: str, n: int) -> list[str]:
    q = (
        select(Incident.id)
        .where(Incident.tenant == tenant, Incident.id > after)
        .where(*_ended_before(cutoff))
        .order_by(Incident.id)
        .limit(max(1, n // 20))  # an incident brings its alerts, timeline, steps along
    )
    return list(s.scalars(q))


def _postmortem_ids(s: Session, tenant: str, cutoff: datetime, after: str, n: int) -> list[str]:
    q = (
        select(Postmortem.incident_id)
        .where(Postmortem.tenant == tenant, Postmortem.incident_id > after)
        .where(Postmortem.status == "complete", Postmortem.updated_at < cutoff)
        .order_by(Postmortem.incident_id)
        .limit(n)
    )
    return list(s.scalars(q))


def _step_ids(s: Session, tenant: str, cutoff: datetime, after: str, n: int) -> list[str]:
    q = (
        select(StepRun.id)
        .where(StepRun.tenant == tenant, StepRun.id > after, StepRun.finished_at < cutoff)
        .where(StepRun.result.is_not(None))
        .order_by(StepRun.id)
        .limit(n)
    )
    return list(s.scalars(q))


def _dependents(table: Table) -> list[tuple[Table, Any, Any]]:
    """(child table, its column, the parent column) for every foreign key pointing at ``table``."""
    out = []
    for child in Base.metadata.sorted_tables:
        for fk in child.foreign_keys:
            if fk.column.table is table:
                out.append((child, fk.parent, fk.column))
    return out


def _delete_tree(s: Session, table: Table, col: Any, values: list[Any]) -> int:
    """Delete the rows of ``table`` whose ``col`` is in ``values``, children first."""
    if not values:
        return 0
    for child, child_col, parent_col in _dependents(table):
        if child is table:
            continue
        parents = list(s.scalars(select(parent_col).where(col.in_(values))))
        _delete_tree(s, child, child_col, parents)
    return int(s.execute(delete(table).where(col.in_(values))).rowcount or 0)  # type: ignore[attr-defined]


def _purge_deliveries(s: Session, ids: list[str]) -> int:
    return int(s.execute(delete(Delivery).where(Delivery.id.in_(ids))).rowcount or 0)  # type: ignore[attr-defined]


def _purge_incidents(s: Session, ids: list[str]) -> int:
    table = Incident.__table__
    assert isinstance(table, Table)
    return _delete_tree(s, table, table.c.id, ids)


def _purge_postmortems(s: Session, ids: list[str]) -> int:
    s.execute(delete(ActionItemRow).where(ActionItemRow.incident_id.in_(ids)))
    return int(s.execute(delete(Postmortem).where(Postmortem.incident_id.in_(ids))).rowcount or 0)  # type: ignore[attr-defined]


def _purge_steps(s: Session, ids: list[str]) -> int:
    """Keep the run (who asked, who approved, the outcome); drop the output's blocks."""
    n = 0
    for run_id, result in s.execute(select(StepRun.id, StepRun.result).where(StepRun.id.in_(ids))):
        if not result or result.get("purged"):
            continue
        kept = {k: result[k] for k in ("status", "summary", "duration_ms") if k in result}
        s.execute(
            update(StepRun)
            .where(StepRun.id == run_id)
            .values(result={**kept, "blocks": [], "purged": True})
        )
        n += 1
    return n


Step = Callable[[Session, str, datetime, str, int], tuple[int, str]]
"""One batch: (session, tenant, cutoff, cursor, size) → (rows removed, next cursor)."""


def _keyset(
    pick: Callable[[Session, str, datetime, str, int], list[str]],
    remove: Callable[[Session, list[str]], int],
) -> Step:
    """A batch over one table's primary key: pick ids after the cursor, remove them."""

    def step(s: Session, tenant: str, cutoff: datetime, after: str, n: int) -> tuple[int, str]:
        ids = pick(s, tenant, cutoff, after, n)
        return (remove(s, ids), ids[-1]) if ids else (0, after)

    return step


PLAN: Mapping[str, Step] = {
    "alerts": _alert_step,
    "step_outputs": _keyset(_step_ids, _purge_steps),
    "deliveries": _keyset(_delivery_ids, _purge_deliveries),
    "postmortems": _keyset(_postmortem_ids, _purge_postmortems),
    "incidents": _keyset(_incident_ids, _purge_incidents),
}


class Retention:
    """Runs the purge over every tenant and kind; ``pause`` sleeps between batches."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: Callable[[], Config],
        clock: Clock,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sessions, self.config, self.clock, self.pause = sessions, config, clock, pause

    def purge(self, max_batches: int | None = None) -> Outcome:
        """One pass over every tenant and kind (up to ``max_batches`` batches in all)."""
        cfg = self.config()
        ret = cfg.retention
        out = Outcome()
        now = self.clock.now()
        for tenant in cfg.tenants:
            periods = ret.periods(tenant.name)
            for kind in KINDS:
                period = periods[kind]
                if period is None:
                    continue
                left = None if max_batches is None else max_batches - out.batches
                if left is not None and left <= 0:
                    out.complete = False
                    return out
                rows, batches, done = self._kind(tenant.name, kind, now - period, now, left)
                out.batches += batches
                if rows:
                    out.rows[(tenant.name, kind)] = rows
                if not done:
                    out.complete = False
                    return out
        return out

    def _kind(
        self, tenant: str, kind: str, cutoff: datetime, now: datetime, max_batches: int | None
    ) -> tuple[int, int, bool]:
        step = PLAN[kind]
        largest = self.config().retention.batch
        size = min(largest, MIN_BATCH * 4)
        pause = self.config().retention.pause.total_seconds()
        rows = batches = 0
        after = ""
        started = self.clock.now()
        done = True
        while True:
            if max_batches is not None and batches >= max_batches:
                done = False
                break
            t0 = time.monotonic()
            with self.sessions.begin() as s:
                removed, cursor = step(s, tenant, cutoff, after, size)
            if not removed and cursor == after:
                break
            took = time.monotonic() - t0
            rows, after = rows + removed, cursor
            batches += 1 if removed else 0
            size = next_size(size, took, largest)
            if pause > 0 and removed:  # rest at least as long as the batch held the database
                self.pause(max(pause, took))
        if rows:
            self._record(tenant, kind, cutoff, started, rows, batches)
        return rows, batches, done

    def _record(
        self, tenant: str, kind: str, cutoff: datetime, started: datetime, rows: int, batches: int
    ) -> None:
        now = self.clock.now()
        with self.sessions.begin() as s:
            s.add(
                PurgeRow(
                    id=new_id("prg"),
                    tenant=tenant,
                    kind=kind,
                    cutoff=cutoff,
                    started_at=started,
                    finished_at=now,
                    rows=rows,
                    batches=batches,
                )
            )
            audit.record(
                s,
                at=now,
                tenant=tenant,
                action="retention.purged",
                actor="retention",
                target=kind,
                data={"rows": rows, "batches": batches, "cutoff": cutoff.isoformat()},
            )
        log.info("retention_purged", tenant=tenant, kind=kind, rows=rows, batches=batches)

    # ---- the worker's job: one slot per ``every``, continued in chunks behind other work
    def _slot_row(self, at: datetime, *, now: bool = False) -> dict[str, Any]:
        every = max(60, int(self.config().retention.every.total_seconds()))
        slot = int(at.timestamp()) // every
        run_after = at if now else datetime.fromtimestamp((slot + 1) * every, tz=at.tzinfo)
        row = jobs.job_row(jobs.SYSTEM_TENANT, JOB, {}, at, priority=3)
        tag = f"{slot + (0 if now else 1)}-{'c' + new_id('x')[-8:] if now else 'next'}"
        return {**row, "id": f"retention-{tag}", "run_after": run_after}

    def ensure_scheduled(self) -> None:
        """Queue the next slot's purge if no replica has yet (same id: inserted once)."""
        with self.sessions.begin() as s:
            jobs.enqueue_once(s, [self._slot_row(self.clock.now())])

    def _job(self, _payload: Mapping[str, Any]) -> None:
        out = self.purge(max_batches=MAX_BATCHES_PER_JOB)
        with self.sessions.begin() as s:
            now = self.clock.now()
            jobs.enqueue_once(s, [self._slot_row(now, now=not out.complete)])

    def job_kinds(self) -> dict[str, JobKind]:
        try:
            self.ensure_scheduled()
        except Exception as exc:  # noqa: BLE001 - the worker must start even if this fails
            log.warning("retention_seed_failed", error=str(exc))
        return {
            JOB: JobKind(run=self._job, on_expired=lambda _s, _j: True, lease=timedelta(minutes=5))
        }


def purge_totals(s: Session) -> list[tuple[str, str, int, int]]:
    """(tenant, kind, rows removed, purges) over every purge recorded."""
    q = select(PurgeRow.tenant, PurgeRow.kind, func.sum(PurgeRow.rows), func.count()).group_by(
        PurgeRow.tenant, PurgeRow.kind
    )
    return [(t, k, int(n or 0), int(c)) for t, k, n, c in s.execute(q)]
