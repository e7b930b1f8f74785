"""The durable job queue: enqueue, claim with a lease, finish, and recover after a crash.

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
from opsbook.storage.tables import Job


def job_row(tenant: str, kind: str, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The columns of a new queued job, for bulk inserts."""
    return {
        "id": new_id("job"),
        "tenant": tenant,
        "kind": kind,
        "payload": payload,
        "status": "queued",
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
) -> Job:
    job = Job(**{**job_row(tenant, kind, payload, now), "run_after": run_after or now})
    s.add(job)
    return job


def claim(s: Session, worker: str, now: datetime, lease: timedelta, limit: int = 1) -> list[Job]:
    """Take up to ``limit`` ready jobs for ``worker``; each is leased until ``now + lease``."""
    q = (
        select(Job.id)
        .where(Job.status == "queued", Job.run_after <= now)
        .order_by(Job.run_after, Job.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed: list[Job] = []
    for job_id in list(s.scalars(q)):
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
