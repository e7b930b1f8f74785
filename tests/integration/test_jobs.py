"""The durable job queue on SQLite and PostgreSQL: each job runs once, with two workers racing;
a job whose worker died is retried when safe and marked interrupted when not."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.jobs.worker import JobKind, Worker
from opsbook.storage import jobs
from opsbook.storage.db import make_engine, make_sessionmaker
from opsbook.storage.tables import Job
from opsbook.testing import FrozenClock
from tests.support.app import migrated


def test_two_workers_run_every_job_exactly_once(db_url: str) -> None:
    migrated(db_url)
    sessions = make_sessionmaker(make_engine(db_url))
    clock = FrozenClock()
    with sessions.begin() as s:
        for i in range(60):
            jobs.enqueue(s, "acme", "count", {"n": i}, clock.now())
    seen: list[int] = []
    lock = threading.Lock()

    def run(payload: Mapping[str, Any]) -> None:
        with lock:
            seen.append(int(payload["n"]))

    kinds = {"count": JobKind(run=run, on_expired=lambda _s, _j: True)}
    workers = [Worker(sessions, clock, kinds, name=f"w{i}") for i in range(2)]

    def drain(w: Worker) -> None:
        while w.run_once(limit=3):
            pass

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(seen) == list(range(60))
    with sessions() as s:
        assert {j.status for j in s.scalars(select(Job))} == {"done"}
        assert {j.locked_by for j in s.scalars(select(Job))} <= {"w0", "w1"}


def test_a_dead_workers_job_is_retried_or_interrupted(db_url: str) -> None:
    migrated(db_url)
    sessions = make_sessionmaker(make_engine(db_url))
    clock = FrozenClock()
    with sessions.begin() as s:
        safe = jobs.enqueue(s, "acme", "safe", {}, clock.now()).id
        risky = jobs.enqueue(s, "acme", "risky", {}, clock.now()).id
    with sessions.begin() as s:  # a worker claims both, then dies (never finishes them)
        assert len(jobs.claim(s, "dead", clock.now(), timedelta(minutes=1), limit=5)) == 2

    ran: list[str] = []

    def retry_safe(_s: Session, _j: Job) -> bool:
        return True

    def never_again(_s: Session, _j: Job) -> bool:
        return False

    kinds = {
        "safe": JobKind(run=lambda _p: ran.append("safe"), on_expired=retry_safe),
        "risky": JobKind(run=lambda _p: ran.append("risky"), on_expired=never_again),
    }
    w = Worker(sessions, clock, kinds, name="alive")
    assert w.recover() == 0  # leases still valid: nothing to recover
    clock.advance(minutes=2)
    assert w.recover() == 2
    while w.run_once():
        pass
    assert ran == ["safe"]
    with sessions() as s:
        assert s.get(Job, safe).status == "done"  # type: ignore[union-attr]
        assert s.get(Job, risky).status == "interrupted"  # type: ignore[union-attr]
    # the dead worker coming back cannot finish a job it no longer holds
    with sessions.begin() as s:
        assert jobs.finish(s, risky, "dead", clock.now()) is False
