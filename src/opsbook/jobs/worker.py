"""The worker: claims durable jobs and runs their handlers; recovers jobs of workers that died.

A handler gets the job's payload and returns nothing; what it produces it stores itself. A job whose
worker died is given to ``on_expired`` of its kind, which decides: run again (safe, read-only work)
or mark interrupted (anything that changes state is never silently re-run).

Severity first: the worker claims one job at a time, P0 first (``storage.jobs.claim``), and
finishes it in the same transaction that claims the next, so nothing it holds waits behind what
it runs. ``run_forever`` runs one loop per lane (``page``: escalation ticks and deliveries;
``work``: steps, diagnostics, checks) in its own thread: a step that runs for minutes never holds
a page.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
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
    """Runs the jobs of ``lanes`` (every lane by default) with the handlers in ``kinds``."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        kinds: Mapping[str, JobKind],
        name: str | None = None,
        lanes: Sequence[str] = jobs.LANES,
    ) -> None:
        self.sessions, self.clock, self.kinds = sessions, clock, kinds
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{new_id('w')[-6:]}"
        unknown = set(lanes) - set(jobs.LANES)
        if unknown or not lanes:
            raise ValueError(f"lanes must be some of {jobs.LANES}, got {tuple(lanes)!r}")
        self.lanes = tuple(lane for lane in jobs.LANES if lane in lanes)
        self.lease = max((k.lease for k in kinds.values()), default=timedelta(minutes=5))
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

    def run_once(self, limit: int = 4, lanes: Sequence[str] | None = None) -> int:
        """Run up to ``limit`` ready jobs, one claim at a time (P0 first); returns how many ran.

        Each job is claimed only when the previous one is done (its ``finish`` and the next
        ``claim`` share a transaction), so a P0 queued meanwhile is the next job taken.
        """
        lanes = tuple(lanes or self.lanes)
        ran = 0
        done: tuple[str, str | None] | None = None  # (job id, error) to record with the next claim
        while True:
            with self.sessions.begin() as s:
                if done is not None:
                    jobs.finish(s, done[0], self.name, self.clock.now(), done[1])
                    done = None
                if ran >= limit:
                    return ran
                claimed = [
                    (j.id, j.kind, dict(j.payload))
                    for j in jobs.claim(s, self.name, self.clock.now(), self.lease, 1, lanes)
                ]
            if not claimed:
                return ran
            job_id, kind_name, payload = claimed[0]
            done = (job_id, self._run(job_id, kind_name, payload))
            ran += 1

    def _run(self, job_id: str, kind_name: str, payload: Mapping[str, Any]) -> str | None:
        """Run one job's handler; the error to record, or None."""
        kind = self.kinds.get(kind_name)
        try:
            if kind is None:
                raise LookupError(f"no handler for job kind {kind_name!r}")
            kind.run(payload)
        except Exception as exc:  # noqa: BLE001 - a failing job must not stop the worker
            error = f"{type(exc).__name__}: {exc}"[:2000]
            log.error("job_failed", job=job_id, kind=kind_name, error=error)
            return error
        return None

    def _loop(self, lanes: Sequence[str], poll: float, recover: bool) -> None:
        ticks = 0
        while not self._stop.is_set():
            try:
                if recover and ticks % 20 == 0:
                    self.recover()
                ticks += 1
                if self.run_once(limit=16, lanes=lanes) == 0:
                    self._stop.wait(poll)
            except Exception as exc:  # noqa: BLE001
                log.warning(
                    "worker_cycle_failed",
                    lanes=list(lanes),
                    error=str(exc),
                    storage_down=is_unavailable(exc),
                )
                self._stop.wait(min(5.0, poll * 4))

    def run_forever(self, poll: float = 0.5) -> None:
        """Until ``stop()``: one loop per lane, each in its own thread (this one runs the first).

        The first loop also recovers crashed jobs now and then; each sleeps ``poll`` when idle.
        """
        log.info("worker_started", worker=self.name, lanes=list(self.lanes))
        others = [
            threading.Thread(
                target=self._loop,
                args=((lane,), poll, False),
                name=f"opsbook-worker-{self.name}-{lane}",
                daemon=True,
            )
            for lane in self.lanes[1:]
        ]
        for t in others:
            t.start()
        try:
            self._loop(self.lanes[:1], poll, True)
        finally:
            self._stop.set()
            for t in others:
                t.join(timeout=30)
        log.info("worker_stopped", worker=self.name)

    def start_thread(self) -> threading.Thread:
        """``run_forever`` in a daemon thread; joining it waits for every lane's loop."""
        t = threading.Thread(
            target=self.run_forever, name=f"opsbook-worker-{self.name}", daemon=True
        )
        t.start()
        return t

    def stop(self) -> None:
        self._stop.set()
