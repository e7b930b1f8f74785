"""The durable job queue: enqueue, claim with a lease, finish, and recover after a crash.

Severity first (DESIGN §6.10): every job has a ``priority`` (0 = P0 … 3 = P3, the severity of the
incident it works for) and a ``lane``. ``claim`` takes ready jobs P0 first, then by due time; the
``page`` lane (escalation ticks, deliveries) and the ``work`` lane (steps, diagnostics, checks)
are claimed separately, so each gets its own worker thread and a slow step never holds a page.
Each (lane, priority) is one range of the ``ix_jobs_claim`` index, so a claim reads a handful of
index entries however many jobs are queued, done or due later.

Claiming is a compare-and-set (``UPDATE … WHERE status = 'queued'``), which is safe on SQLite and
PostgreSQL alike; on PostgreSQL the candidate rows are also read ``FOR UPDATE SKIP LOCKED`` so
several workers do not even contend for the same job.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from opsbook.core.ids import new_id
from opsbook.storage.db import insert_ignore
from opsbook.storage.tables import Delivery, Incident, Job

PAGE_LANE = "page"
"""Escalation ticks and deliveries: what reaches a person."""
WORK_LANE = "work"
"""Everything else: step runs, diagnostics, checks, sweeps."""
LANES = (PAGE_LANE, WORK_LANE)
"""Claim order within one priority: paging before other work."""

PRIORITIES = (0, 1, 2, 3)
"""0 = P0 (taken first) … 3 = P3."""
DEFAULT_PRIORITY = 1
"""A job for no incident (checks, sweeps): after P0 work, before P2/P3 storms."""


def severity_priority(severity: str | None) -> int:
    """``"P0"`` → 0 … ``"P3"`` → 3; anything else is the default priority."""
    if severity and len(severity) == 2 and severity[0] == "P" and severity[1] in "0123":
        return int(severity[1])
    return DEFAULT_PRIORITY


def _clamp(priority: int) -> int:
    return min(max(int(priority), PRIORITIES[0]), PRIORITIES[-1])


SYSTEM_TENANT = "_system"
"""The tenant of the server's own jobs: sweeps, purges, scheduled verifications."""


def enqueue_once(s: Session, rows: list[dict[str, Any]]) -> int:
    """Queue jobs whose ids name their slot (``checks-sweep-<second>``, ``rt_<id>_<seq>`` …):
    one already queued by another replica or before a restart is skipped. Returns rows added."""
    return insert_ignore(s, Job.__table__, rows)  # type: ignore[arg-type]


def job_row(
    tenant: str,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    *,
    priority: int = DEFAULT_PRIORITY,
    lane: str = WORK_LANE,
    incident_id: str | None = None,
) -> dict[str, Any]:
    """The columns of a new queued job, for bulk inserts."""
    if lane not in LANES:
        raise ValueError(f"unknown job lane {lane!r}")
    return {
        "id": new_id("job"),
        "tenant": tenant,
        "kind": kind,
        "payload": payload,
        "status": "queued",
        "priority": _clamp(priority),
        "lane": lane,
        "incident_id": incident_id,
        "run_after": now,
        "attempts": 0,
        "locked_by": None,
        "locked_until": None,
        "created_at": now,
        "finished_at": None,
        "error": None,
    }


def enqueue(
    s: Session,
    tenant: str,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    run_after: datetime | None = None,
    *,
    priority: int | None = None,
    lane: str = WORK_LANE,
    incident_id: str | None = None,
) -> Job:
    """Queue a job; without ``priority``, a job for an incident takes the incident's severity."""
    if priority is None:
        severity = None
        if incident_id is not None:
            severity = s.scalar(
                select(Incident.severity).where(
                    Incident.tenant == tenant, Incident.id == incident_id
                )
            )
        priority = severity_priority(severity)
    row = job_row(tenant, kind, payload, now, priority=priority, lane=lane, incident_id=incident_id)
    job = Job(**{**row, "run_after": run_after or now})
    s.add(job)
    return job


def _ready(lane: str, priority: int, now: datetime, limit: int) -> Any:
    """Ready jobs of one lane and priority, oldest due first: one range of ``ix_jobs_claim``."""
    return (
        select(Job.id)
        .where(
            Job.status == "queued",
            Job.lane == lane,
            Job.priority == priority,
            Job.run_after <= now,
        )
        .order_by(Job.run_after, Job.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def claim(
    s: Session,
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int = 1,
    lanes: Sequence[str] = LANES,
) -> list[Job]:
    """Take up to ``limit`` ready jobs of ``lanes`` for ``worker``, leased until ``now + lease``.

    Order: priority (P0 first), then lane (in ``LANES`` order), then due time, then id.
    """
    order = [lane for lane in LANES if lane in lanes]
    claimed: list[Job] = []
    for priority in PRIORITIES:
        for lane in order:
            if len(claimed) >= limit:
                return claimed
            for job_id in list(s.scalars(_ready(lane, priority, now, limit - len(claimed)))):
                res = s.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == "queued")
                    .values(
                        status="running",
                        locked_by=worker,
                        locked_until=now + lease,
                        attempts=Job.attempts + 1,
                    )
                    .execution_options(synchronize_session=False)
                )
                if res.rowcount == 1:  # type: ignore[attr-defined]
                    job = s.get(Job, job_id, populate_existing=True)
                    if job is not None:
                        claimed.append(job)
    return claimed


def finish(s: Session, job_id: str, worker: str, now: datetime, error: str | None = None) -> bool:
    """Mark a job done (or failed); False if this worker no longer holds it (its lease was taken)."""
    res = s.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker, Job.status == "running")
        .values(
            status="failed" if error else "done", finished_at=now, error=error, locked_until=None
        )
        .execution_options(synchronize_session=False)
    )
    return bool(res.rowcount == 1)  # type: ignore[attr-defined]


def follow_severity(s: Session, tenant: str, incident_id: str, severity: str) -> int:
    """An incident's severity changed: its queued jobs and unsent messages take the new priority.

    Returns how many jobs moved. Messages matter too: a P3 raised to P0 is no longer held by a
    rate limit or folded into a digest.
    """
    priority = severity_priority(severity)
    res = s.execute(
        update(Job)
        .where(
            Job.incident_id == incident_id,
            Job.status == "queued",
            Job.tenant == tenant,
            Job.priority != priority,
        )
        .values(priority=priority)
        .execution_options(synchronize_session=False)
    )
    s.execute(
        update(Delivery)
        .where(
            Delivery.tenant == tenant,
            Delivery.incident_id == incident_id,
            Delivery.status == "pending",
            Delivery.priority != priority,
        )
        .values(priority=priority)
        .execution_options(synchronize_session=False)
    )
    return int(res.rowcount or 0)  # type: ignore[attr-defined]


def expired(s: Session, now: datetime) -> Sequence[Job]:
    """Jobs whose worker stopped renewing the lease: it crashed or was killed."""
    q = (
        select(Job)
        .where(Job.status == "running", Job.locked_until < now)
        .with_for_update(skip_locked=True)
    )
    return s.scalars(q).all()


def requeue(job: Job, now: datetime) -> None:
    job.status, job.locked_by, job.locked_until, job.run_after = "queued", None, None, now


def interrupt(job: Job, now: datetime, why: str) -> None:
    job.status, job.finished_at, job.error, job.locked_until = "interrupted", now, why, None
