"""The worker: claims durable jobs and runs their handlers; recovers jobs of workers that died.

A handler gets the job's payload and returns nothing; what it produces it stores itself. A job whose
worker died is given to ``on_expired`` of its kind, which decides: run again (safe, read-only work)
or mark interrupted (anything that changes state is never silently re-run).
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from opsbook.core.clock import Clock
from opsbook.core.ids import new_id
from opsbook.storage import jobs
from opsbook.storage.db import is_unavailable
from opsbook.storage.tables import Job

log = structlog.get_logger("opsbook.worker")


@dataclass(frozen=True)
class JobKind:
    """How to run one kind of job and what to do with one whose worker died."""

    run: Callable[[Mapping[str, Any]], None]
    on_expired: Callable[
        [Session, Job], bool
    ]  # True: run it again; False: it was marked interrupted
    lease: timedelta = timedelta(minutes=5)


class Worker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        kinds: Mapping[str, JobKind],
        name: str | None = None,
    ) -> None:
        self.sessions, self.clock, self.kinds = sessions, clock, kinds
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{new_id('w')[-6:]}"
        self._stop = threading.Event()

    def recover(self) -> int:
        """Hand back or interrupt jobs whose lease ran out; returns how many were found."""
        now = self.clock.now()
        with self.sessions.begin() as s:
            found = list(jobs.expired(s, now))
            for job in found:
                kind = self.kinds.get(job.kind)
                if kind is not None and job.attempts < 3 and kind.on_expired(s, job):
                    jobs.requeue(job, now)
                    log.warning("job_requeued_after_crash", job=job.id, kind=job.kind)
                else:
                    jobs.interrupt(job, now, f"worker {job.locked_by} stopped while running it")
                    log.warning("job_interrupted", job=job.id, kind=job.kind)
        return len(found)

    def run_once(self, limit: int = 4) -> int:
        """Claim and run up to ``limit`` ready jobs; returns how many ran."""
        lease = max((k.lease for k in self.kinds.values()), default=timedelta(minutes=5))
        with self.sessions.begin() as s:
            claimed = [
                (j.id, j.kind, dict(j.payload))
                for j in jobs.claim(s, self.name, self.clock.now(), lease, limit)
            ]
        for job_id, kind_name, payload in claimed:
            error = None
            kind = self.kinds.get(kind_name)
            try:
                if kind is None:
                    raise LookupError(f"no handler for job kind {kind_name!r}")
                kind.run(payload)
            except Exception as exc:  # noqa: BLE001 - a failing job must not stop the worker
                error = f"{type(exc).__name__}: {exc}"[:2000]
                log.error("job_failed", job=job_id, kind=kind_name, error=error)
            with self.sessions.begin() as s:
                jobs.finish(s, job_id, self.name, self.clock.now(), error)
        return len(claimed)

    def run_forever(self, poll: float = 0.5) -> None:
        """Loop until ``stop()``: recover crashed jobs now and then, run ready ones, sleep when idle."""
        log.info("worker_started", worker=self.name)
        ticks = 0
        while not self._stop.is_set():
            try:
                if ticks % 20 == 0:
                    self.recover()
                ticks += 1
                if self.run_once() == 0:
                    self._stop.wait(poll)
            except Exception as exc:  # noqa: BLE001
                log.warning("worker_cycle_failed", error=str(exc), storage_down=is_unavailable(exc))
                self._stop.wait(min(5.0, poll * 4))
        log.info("worker_stopped", worker=self.name)

    def start_thread(self) -> threading.Thread:
        t = threading.Thread(
            target=self.run_forever, name=f"opsbook-worker-{self.name}", daemon=True
        )
        t.start()
        return t

    def stop(self) -> None:
        self._stop.set()
