"""Health checks against real services with a real clock and two real workers: stopping the
service opens an incident after `for` (MTTD printed and bounded by every + for + 5 s),
restarting it resolves the incident, and each check runs once per interval across workers."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from opsbook.config.load import parse_config
from opsbook.config.models import Config
from opsbook.core.clock import SystemClock
from opsbook.flows.runbook_catalog import RunbookCatalog
from opsbook.jobs.worker import Worker
from opsbook.storage.db import make_engine, make_sessionmaker
from opsbook.storage.tables import Incident, Job
from opsbook.storage.tables_checks import CheckStateRow
from opsbook.testing import FrozenClock
from tests.support.app import migrated
from tests.support.services import PostgresServer, RedisServer, free_port

pytestmark = [pytest.mark.xdist_group("checks")]
EVERY, FOR = 1.0, 2.0


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"status": "ok", "services": {"db": "healthy"}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class HealthServer:
    """A local /healthz that can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.httpd: ThreadingHTTPServer | None = None

    def start(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), _Health)
        self.httpd.allow_reuse_address = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


def config_for(check_yaml: str, variables: str = "{}") -> Config:
    return parse_config(f"""
tenants: [{{name: acme}}]
services:
  - name: api
    tenant: acme
    variables: {variables}
    checks:
      - {check_yaml}
""")


@contextmanager
def workers(db_url: str, config: Config, n: int = 2) -> Iterator[Callable[[], list[Incident]]]:
    """``n`` workers on the real clock; yields a function listing the incidents."""
    from opsbook.core.settings import Settings
    from opsbook.jobs.kinds import all_job_kinds

    migrated(db_url)
    sessions = make_sessionmaker(make_engine(db_url))
    clock = SystemClock()
    catalog = RunbookCatalog.load(config, Path("."))
    started = []
    for i in range(n):
        kinds = all_job_kinds(sessions, lambda: config, lambda: catalog, Settings(), clock)
        w = Worker(sessions, clock, kinds, name=f"w{i}")
        started.append((w, w.start_thread()))

    def incidents() -> list[Incident]:
        with sessions() as s:
            return list(s.scalars(select(Incident).order_by(Incident.created_at)))

    try:
        yield incidents
    finally:
        for w, _ in started:
            w.stop()
        for _, t in started:
            t.join(timeout=10)


def wait_for(what: str, cond: Callable[[], bool], timeout: float = 20.0) -> float:
    """Poll ``cond`` until true (bounded); returns when it became true (monotonic)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def outage_opens_and_recovery_resolves(
    db_url: str, config: Config, stop: Callable[[], object], start: Callable[[], object], label: str
) -> None:
    with workers(db_url, config) as incidents:
        wait_for("a first healthy run", lambda: _status(db_url) == "ok")
        assert incidents() == []
        stopped_at = time.monotonic()
        stop()
        opened_at = wait_for(
            "the incident", lambda: any(i.status == "triggered" for i in incidents())
        )
        mttd = opened_at - stopped_at
        print(f"\nMTTD[{label}] = {mttd:.2f} s (bound every + for + 5 s = {EVERY + FOR + 5:g} s)")
        assert FOR <= mttd < EVERY + FOR + 5
        (inc,) = incidents()
        assert inc.service == "api" and inc.source == "check" and inc.severity == "P0"
        assert "ServiceDown" in inc.title
        start()
        wait_for("the resolution", lambda: incidents()[0].status == "resolved", timeout=30)
        assert len(incidents()) == 1
    # each run was claimed for its own slot, one interval after the last: never two runs of one
    # interval across the workers (a late run is late, not doubled; `at` says when it ran)
    slots = _slots(db_url)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(slots)]
    assert len(slots) >= 3 and min(gaps) >= EVERY, f"a slot was run twice across workers: {gaps}"


def _row(db_url: str) -> CheckStateRow | None:
    with make_sessionmaker(make_engine(db_url))() as s:
        return s.scalars(select(CheckStateRow)).first()


def _status(db_url: str) -> str | None:
    row = _row(db_url)
    return row.status if row else None


def _slots(db_url: str) -> list[datetime]:
    """The slot each recorded run was claimed for, in the order they were recorded."""
    row = _row(db_url)
    assert row is not None
    return [datetime.fromisoformat(h["due"].replace("Z", "+00:00")) for h in row.history]


CHECK = "every: 1s, for: 2s, timeout: 1s, recover_after: 2, alert: ServiceDown, severity: P0"


@pytest.mark.e2e
def test_http_check_opens_and_resolves_an_incident(db_url: str) -> None:
    server = HealthServer()
    server.start()
    try:
        config = config_for(
            "{name: healthz, http: {url: '{{ API_BASE }}/healthz', json: {services.db: healthy},"
            f" body_contains: ok}}, {CHECK}}}",
            variables=f'{{API_BASE: "http://127.0.0.1:{server.port}"}}',
        )
        outage_opens_and_recovery_resolves(db_url, config, server.stop, server.start, "http")
    finally:
        server.stop()


@pytest.mark.e2e
def test_redis_check_opens_and_resolves_an_incident(db_url: str, tmp_path: Path) -> None:
    redis = RedisServer(tmpdir=tmp_path)
    redis.start()
    try:
        config = config_for(
            f"{{name: cache, redis: {{url: '{redis.url}', fail_if: {{evicted_keys: '> 0'}}}}, {CHECK}}}"
        )
        outage_opens_and_recovery_resolves(db_url, config, redis.stop, redis.start, "redis")
    finally:
        redis.close()


@pytest.mark.e2e
@pytest.mark.postgres
def test_postgres_check_opens_and_resolves_an_incident(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    db_url = f"sqlite:///{tmp_path / 'opsbook.db'}"
    dsn = postgres_server.url_for("postgres", driver="postgresql")
    config = config_for(
        "{name: db, postgres: {url: '" + dsn + "', query: 'SELECT count(*) FROM pg_stat_activity',"
        f" fail_if: '> 500'}}, {CHECK}}}"
    )
    outage_opens_and_recovery_resolves(
        db_url, config, postgres_server.stop, postgres_server.start, "postgres"
    )


def test_sweep_claims_each_due_check_once_and_hands_over_a_dead_workers_check(
    db_url: str,
) -> None:
    """Frozen clock: two sweeps in the same instant claim the check once; a run whose worker
    died (lease never released) is claimed again once the lease and the interval have passed."""
    from opsbook.flows.checks import RUN_JOB, CheckScheduler

    migrated(db_url)
    sessions = make_sessionmaker(make_engine(db_url))
    clock = FrozenClock()
    config = config_for(
        "{name: t, tcp: {host: 127.0.0.1, port: 1}, every: 10s, timeout: 3s, severity: P0}"
    )
    sched = CheckScheduler(sessions, lambda: config, lambda: RunbookCatalog(), clock)
    assert [i.name for i in sched.sweep()] == ["t"]
    with sessions() as s:  # a check that raises a P0 is run as P0 work, ahead of storms
        assert s.scalars(select(Job.priority).where(Job.kind == RUN_JOB)).all() == [0]
    assert sched.sweep() == []  # a second worker's sweep at the same instant
    clock.advance(seconds=9)
    assert sched.sweep() == []  # not due yet, and the first run still holds its lease
    clock.advance(seconds=1)
    assert [i.name for i in sched.sweep()] == ["t"]  # the dead run's lease (3 s + 2 s) ran out
    assert _row(db_url) is not None


API_CONFIG = """
tenants: [{name: acme}, {name: globex}]
services:
  - name: api
    tenant: acme
    checks:
      - {name: healthz, tcp: {host: 127.0.0.1, port: 1}, every: 10s, for: 0s, alert: ApiDown,
         severity: P1, recover_after: 1}
    slos:
      - {name: availability, good: ok_total, total: all_total, objective: 0.999}
  - {name: ledger, tenant: globex}
"""


def test_api_lists_checks_and_slos_per_tenant_and_metrics_export_them(db_url: str) -> None:
    from opsbook.api.metrics import Metrics
    from opsbook.executors import StepResult
    from opsbook.flows.checks import find_check, metric_rows, record_result
    from tests.support.app import running_app

    with running_app(db_url, API_CONFIG, run_worker=False) as h:
        sessions = make_sessionmaker(make_engine(db_url))
        svc, check = find_check(h.config, "acme", "api", "healthz")
        with sessions.begin() as s:
            for status, ms in (("ok", 3.0), ("error", 1.5)):
                h.clock.advance(seconds=10)
                res = StepResult(status, f"{status} result", ms)  # type: ignore[arg-type]
                record_result(s, h.config, svc, check, res, h.clock.now(), None)
        (c,) = h.client.get("/api/v1/checks", headers=h.auth("acme", "viewer")).json()
        assert (c["name"], c["status"], c["kind"], c["alert"]) == ("healthz", "firing", "tcp",
                                                                   "ApiDown")  # fmt: skip
        assert c["last_result"]["summary"] == "error result"
        assert [r["latency_ms"] for r in c["history"]] == [3.0, 1.5]
        assert h.client.get("/api/v1/checks", headers=h.auth("globex", "viewer")).json() == []
        (inc,) = h.incidents()
        assert inc["service"] == "api" and inc["severity"] == "P1"
        (slo,) = h.client.get("/api/v1/slos", headers=h.auth("acme", "viewer")).json()
        assert slo["name"] == "availability" and slo["status"] == "unknown"
        assert h.client.get("/api/v1/slos", headers=h.auth("globex", "viewer")).json() == []
        assert h.client.get("/api/v1/checks").status_code == 401

        metrics = Metrics(lambda: [])
        metrics.watch_checks(lambda: metric_rows(sessions, lambda: h.config))
        value = metrics.registry.get_sample_value
        key = {"tenant": "acme", "service": "api", "check": "healthz"}
        assert value("opsbook_check_up", key) == 0.0
        assert value("opsbook_check_firing", key) == 1.0
        assert value("opsbook_check_latency_ms", key) == 1.5
