"""Three `opsbook serve` replicas on one PostgreSQL 15, each taking intake and running workers, as
behind a load balancer. One is SIGKILLed mid-storm and mid-escalation: every alert a replica
acknowledged (2xx) is stored exactly once, every P0's two escalation levels reach the webhook
exactly once, and the survivors take over the dead replica's job leases once they expire."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from opsbook.storage import migrate
from opsbook.storage.db import make_engine
from opsbook.storage.tables import Alert, Incident
from tests.support.server import OpsbookServer, wait_until
from tests.support.services import WebhookReceiver

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.xdist_group("replicas")]

LEASE_S = 5  # OPSBOOK_JOB_LEASE_SECONDS of every replica
ACK_S = 8  # a P0's level 2 falls due this long after it opened
P0S = 6
STORM_REQUESTS, PER_REQUEST = 24, 100


def _config(hook: str) -> str:
    return f"""
tenants: [{{name: acme}}]
users:
  - {{name: alice, tenant: acme, role: responder, contacts: ["json://{hook}/alice"]}}
  - {{name: lead, tenant: acme, role: commander, contacts: ["json://{hook}/lead"]}}
  - {{name: bob, tenant: acme, role: responder, contacts: ["json://{hook}/bob"]}}
severities: {{P0: {{ack_within: {ACK_S}s}}}}
escalation_policies:
  - name: platform
    tenant: acme
    steps: [{{notify: {{users: [alice]}}}}, {{after: 1h, notify: {{users: [lead]}}}}]
  - {{name: shop, tenant: acme, steps: [{{notify: {{users: [bob]}}}}]}}
services:
  - {{name: api, tenant: acme, escalation_policy: platform}}
  - {{name: shop, tenant: acme, escalation_policy: shop}}
routes:
  - {{match: {{job: api}}, service: api}}
  - {{match: {{job: shop}}, service: shop}}
severity_map: {{critical: P0, warning: P2, info: P3}}
"""


class SlowBob(WebhookReceiver):
    """Answers bob's storm pages after 0.7 s, so replicas hold delivery leases while they work."""

    def _record(self, path: str, headers: dict[str, str], raw: bytes) -> int:
        status = super()._record(path, headers, raw)
        if path == "/bob":
            time.sleep(0.7)
        return status


class Balancer:
    """Round-robin over the live replicas; a replica that refuses a connection is taken out and
    the request goes to the next one (as a load balancer's passive health check does)."""

    def __init__(self, replicas: list[OpsbookServer], token: str) -> None:
        self.live = list(replicas)
        self.rr = itertools.count()
        self.head = {"Authorization": f"Bearer {token}"}
        self.lock = threading.Lock()
        self.refused: list[str] = []

    def post(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The 2xx answer, or None when no replica acknowledged the request."""
        for _ in range(6):
            with self.lock:
                if not self.live:
                    return None
                srv = self.live[next(self.rr) % len(self.live)]
            try:
                r = httpx.post(
                    f"{srv.url}/api/v1/integrations/alertmanager",
                    json=body,
                    headers=self.head,
                    timeout=30,
                )
            except httpx.TransportError:
                with self.lock:
                    if srv in self.live and not srv.running:
                        self.live.remove(srv)
                continue
            if r.status_code == 200:
                answer: dict[str, Any] = r.json()
                return answer
            self.refused.append(f"{r.status_code} {r.text[:300]}")
            if r.status_code != 503:
                return None
            time.sleep(0.2)  # 503 + Retry-After: try again (elsewhere)
        return None


def _body(*alerts: dict[str, str]) -> dict[str, Any]:
    return {
        "version": "4",
        "status": "firing",
        "alerts": [{"status": "firing", "labels": a} for a in alerts],
    }


def test_three_replicas_one_killed_mid_storm_and_mid_escalation(postgres_db: str) -> None:
    engine = create_engine(postgres_db)
    env = {"OPSBOOK_JOB_LEASE_SECONDS": str(LEASE_S)}
    with SlowBob() as rx:
        replicas = [
            OpsbookServer(_config(rx.target), database_url=postgres_db, env=env) for _ in range(3)
        ]
        try:
            _start_together(replicas, postgres_db)
            tokens = replicas[0].create_tokens(
                {
                    "intake": {"tenant": "acme", "integration": "alertmanager"},
                    "viewer": {"tenant": "acme", "role": "viewer"},
                }
            )
            started = time.monotonic()
            lb = Balancer(replicas, tokens["intake"])
            p0s = []
            for n in range(P0S):  # one P0 through each replica in turn
                answer = lb.post(
                    _body({"alertname": f"ApiDown{n}", "job": "api", "severity": "critical"})
                )
                assert answer is not None, lb.refused
                p0s.append(answer["incidents"][0])

            acknowledged: list[str] = []  # instance label of every alert answered 2xx
            lost: list[int] = []
            first_part, go = threading.Barrier(4), threading.Event()

            def storm(worker: int) -> None:
                for n in range(worker, STORM_REQUESTS, 3):
                    if n == worker + 3 * (STORM_REQUESTS // 9):
                        first_part.wait(60)
                        go.wait(60)  # the rest arrives while a replica dies
                    names = [f"a{n}-{i}" for i in range(PER_REQUEST)]
                    alerts = [
                        {"alertname": f"Shop{i % 40}x{n % 6}", "job": "shop", "severity": "info",
                         "instance": name}
                        for i, name in enumerate(names)
                    ]  # fmt: skip
                    if lb.post(_body(*alerts)) is None:
                        lost.append(n)
                    else:
                        acknowledged.extend(names)
                    time.sleep(0.1)

            senders = [threading.Thread(target=storm, args=(w,)) for w in range(3)]
            for t in senders:
                t.start()
            first_part.wait(60)
            wait_until(  # every P0 paged level 1, a quarter of the storm in: a replica dies
                lambda: all(_pages(rx, inc, "/alice") for inc in p0s),
                30,
                what="level 1 of every P0",
                describe=lambda: f"pages so far: {[p for p, _ in _paths(rx)]}",
            )
            go.set()
            time.sleep(0.3)
            victim = _holding_a_lease(engine, replicas)
            pid = victim.pid
            victim.kill()
            killed_at, at_kill = time.monotonic(), len(acknowledged)
            held = _held_by(engine, pid)  # what it held when it died
            assert at_kill < STORM_REQUESTS * PER_REQUEST, "the storm was over before the kill"
            for t in senders:
                t.join(60)
            assert not lost, f"storm requests no replica acknowledged: {lost}"

            # the survivors take over the dead replica's leases once they expire
            taken_over = wait_until(
                lambda: _running(engine, held) == 0 and time.monotonic(),
                LEASE_S + 20,
                what=f"jobs {held} of the killed replica taken over",
            )
            if held:
                assert taken_over - killed_at <= LEASE_S + 15
            wait_until(
                lambda: all(_pages(rx, inc, "/lead") for inc in p0s),
                ACK_S + LEASE_S + 20,
                what="level 2 of every P0",
            )
            time.sleep(2)  # a duplicate page would arrive now

            for inc in p0s:  # every level of every P0 reached its person exactly once
                assert _pages(rx, inc, "/alice") == 1, (inc, _paths(rx))
                assert _pages(rx, inc, "/lead") == 1, (inc, _paths(rx))
            with engine.connect() as c:
                stored = Counter(
                    c.execute(select(text("labels->>'instance'")).select_from(Alert)).scalars()
                )
                doubled = c.execute(
                    select(Alert.fingerprint).group_by(Alert.fingerprint).having(func.count() > 1)
                ).all()
                counted = c.execute(
                    select(func.sum(Incident.alert_count)).where(Incident.service == "shop")
                ).scalar()
            assert not doubled, f"alerts stored twice: {doubled[:5]}"
            missing = [a for a in acknowledged if stored[a] != 1]
            assert not missing, f"{len(missing)} acknowledged alerts not stored once: {missing[:5]}"
            assert counted == len(acknowledged) == STORM_REQUESTS * PER_REQUEST
            survivor = next(srv for srv in replicas if srv.running)
            assert set(p0s) <= {
                i["id"] for i in survivor.incidents(tokens["viewer"], service="api")
            }
            print(
                f"replicas: killed at {at_kill}/{len(acknowledged)} alerts acknowledged, holding "
                f"{len(held)} job(s), taken over {taken_over - killed_at:.1f}s later; "
                f"{time.monotonic() - started:.0f}s after the replicas were up"
            )
        finally:
            for srv in replicas:
                srv.close()
            engine.dispose()


def _start_together(replicas: list[OpsbookServer], url: str) -> None:
    """Migrate once in-process, then start the three processes side by side (from this thread:
    their parent-death signal is tied to it) and wait until each answers /readyz."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    for srv in replicas:
        srv._upgraded = True
        srv._spawn()
    for srv in replicas:
        srv._wait_ready(srv.start_timeout)
        srv.starts += 1


def _paths(rx: WebhookReceiver) -> list[tuple[str, Any]]:
    return [(r["path"], r["body"][:300]) for r in rx.requests]


def _pages(rx: WebhookReceiver, incident: str, path: str) -> int:
    """Webhook POSTs to ``path`` about ``incident`` (answered 2xx)."""
    return sum(
        1
        for r in rx.requests
        if r["path"] == path
        and r["status"] < 300
        and incident.encode() in r["body"]  # the webhook's JSON carries the incident id
    )


def _running(engine: Any, ids: list[str]) -> int:
    if not ids:
        return 0
    with engine.connect() as c:
        q = text("SELECT count(*) FROM jobs WHERE status = 'running' AND id = ANY(:ids)")
        return int(c.execute(q, {"ids": ids}).scalar() or 0)


def _held_by(engine: Any, pid: int) -> list[str]:
    """Running jobs leased by the worker of process ``pid`` (worker names hold the pid)."""
    with engine.connect() as c:
        rows = c.execute(text("SELECT id, locked_by FROM jobs WHERE status = 'running'")).all()
    return [job for job, owner in rows if owner and f"-{pid}-" in owner]


def _holding_a_lease(engine: Any, replicas: list[OpsbookServer]) -> OpsbookServer:
    """A replica that holds a running job right now; else (after 1.5 s) the second one."""
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        for srv in replicas:
            if _held_by(engine, srv.pid):
                return srv
        time.sleep(0.05)
    return replicas[1]
