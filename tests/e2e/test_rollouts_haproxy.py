"""Canary rollouts end to end with real parts on loopback: HAProxy in front of v1 and v2, a real
Prometheus scraping HAProxy's exporter, bounded load. A v2 failing 5 % of requests fails the
error-rate gate at 5 % and traffic goes back to 0 % with an incident holding the evidence; a
healthy v2 reaches 100 %."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opsbook.core.clock import SystemClock
from opsbook.flows.rollouts import RolloutDriver
from opsbook.jobs.worker import Worker
from opsbook.storage.db import make_engine
from opsbook.storage.tables import Escalation, Incident, TimelineEntry
from tests.support.app import Harness, running_app
from tests.support.haproxy import HAProxyServer, Load, VersionApp
from tests.support.services import PrometheusServer, ServiceUnavailable

ALL = 'haproxy_server_http_responses_total{proxy="app",server="{{canary}}"}'
ERROR_RATE = (
    f'(sum(rate({ALL[:-1]},code="5xx"}}[10s])) / sum(rate({ALL}[10s])))'
    # judged only on 20 or more canary requests in the window: a pass on two requests says
    # nothing (and a slow machine would promote on it); with fewer, the gate is inconclusive
    f" and on() (sum(increase({ALL}[10s])) >= 20)"
)


def _config(prometheus: str, haproxy: HAProxyServer, pause: str) -> str:
    return f"""
tenants: [{{name: acme}}]
users:
  - {{name: alice, tenant: acme, contacts: ["json://127.0.0.1:9/alice"]}}
escalation_policies:
  - {{name: web, tenant: acme, steps: [{{notify: {{users: [alice]}}}}]}}
services:
  - {{name: web, tenant: acme, escalation_policy: web}}
rollouts:
  - name: web
    service: web
    prometheus: "{prometheus}"
    interval: 1s
    steps: [{{weight: 5, pause: {pause}}}, {{weight: 50, pause: 2s}}, {{weight: 100}}]
    gates:
      - {{name: error-rate, query: '{ERROR_RATE}', max: 0.01}}
    actuator:
      haproxy: {{address: "{haproxy.admin_address}", backend: app, stable: v1, canary: v2}}
"""


def _weight(haproxy: HAProxyServer, server: str) -> int:
    with socket.create_connection(("127.0.0.1", haproxy.admin_port), timeout=5) as s:
        s.sendall(f"get weight app/{server}\n".encode())
        return int(s.recv(1024).decode().split()[0])


Stack = Callable[[int, str], tuple[Harness, HAProxyServer]]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    opened: list[Any] = []

    def make(fail_every: int, pause: str) -> tuple[Harness, HAProxyServer]:
        v1, v2 = VersionApp("v1"), VersionApp("v2", fail_every=fail_every)
        opened.extend([v1, v2])
        try:
            haproxy = HAProxyServer(v1.port, v2.port)
        except ServiceUnavailable as exc:
            pytest.skip(str(exc))
        opened.append(haproxy.start())
        try:
            prom = PrometheusServer(targets=[haproxy.metrics_target])
        except ServiceUnavailable as exc:
            pytest.skip(str(exc))
        opened.append(prom.start())
        cm = running_app(
            f"sqlite:///{tmp_path}/o.db", _config(prom.url, haproxy, pause), run_worker=False
        )
        h = cm.__enter__()
        opened.append(cm)
        return h, haproxy

    yield make
    for thing in reversed(opened):
        if hasattr(thing, "__exit__") and not hasattr(thing, "close"):
            thing.__exit__(None, None, None)
        else:
            thing.close()


def _drive(h: Harness, rollout_id: str, seconds: float) -> dict[str, Any]:
    """Run the rollout's ticks with the real clock until it ends (bounded in time)."""
    st = h.client.app.state.opsbook  # type: ignore[attr-defined]
    clock = SystemClock()
    worker = Worker(
        st.sessions, clock, RolloutDriver(st.sessions, lambda: st.config, clock).job_kinds()
    )
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        while worker.run_once():
            pass
        r = h.client.get(f"/api/v1/rollouts/{rollout_id}", headers=h.auth()).json()
        if r["status"] not in ("running", "paused"):
            return dict(r)
        time.sleep(0.2)
    raise AssertionError(
        f"rollout still {r['status']} at {r['weight']} % after {seconds}s: {r['events']}"
    )


def test_a_canary_failing_5_percent_rolls_back_at_5_percent_and_opens_an_incident(
    stack: Stack,
) -> None:
    h, haproxy = stack(20, "20s")  # every 20th request of v2 fails: 5 %
    with Load(haproxy.port, rate=150, max_seconds=45):
        r = h.client.post(
            "/api/v1/rollouts", json={"service": "web", "version": "v2"}, headers=h.auth()
        )
        assert r.status_code == 201, r.text
        again = h.client.post(
            "/api/v1/rollouts", json={"service": "web", "version": "v3"}, headers=h.auth()
        )
        assert again.status_code == 409  # one rollout per plan at a time
        done = _drive(h, r.json()["id"], 40)
    assert done["status"] == "failed", done
    assert "error-rate" in done["reason"] and "max 0.01" in done["reason"]
    rolled = next(e for e in done["events"] if e["event"] == "rolled_back")
    assert rolled["at_weight"] == 5 and rolled["weight"] == 0
    assert _weight(haproxy, "v2") == 0 and _weight(haproxy, "v1") == 100
    failing = [e for e in done["evaluations"] if e["verdict"] == "fail"]
    assert failing and failing[-1]["value"] > 0.01
    with make_engine(h.url).connect() as c:
        inc = c.execute(select(Incident).where(Incident.id == done["incident_id"])).one()
        timeline = (
            c.execute(select(TimelineEntry.message).where(TimelineEntry.incident_id == inc.id))
            .scalars()
            .all()
        )
        paging = c.execute(select(Escalation).where(Escalation.incident_id == inc.id)).all()
    assert inc.severity == "P1" and inc.service == "web" and "rolled back at 5 %" in inc.title
    assert any(
        "rollout gate error-rate fail" in m and "haproxy_server_http_responses_total" in m
        for m in timeline
    )
    assert any("steps 5 %, 50 %, 100 %" in m for m in timeline)
    assert paging, "the incident pages per the service's escalation policy"


def test_a_healthy_canary_reaches_100_percent(stack: Stack) -> None:
    h, haproxy = stack(0, "3s")
    with Load(haproxy.port, rate=150, max_seconds=45):
        r = h.client.post(
            "/api/v1/rollouts", json={"service": "web", "version": "v2"}, headers=h.auth()
        )
        assert r.status_code == 201, r.text
        done = _drive(h, r.json()["id"], 40)
    assert done["status"] == "succeeded", done
    assert [e["weight"] for e in done["events"] if e["event"] == "step"] == [5, 50, 100]
    assert done["events"][-1]["event"] == "succeeded"
    assert _weight(haproxy, "v2") == 100 and _weight(haproxy, "v1") == 0
    assert done["incident_id"] is None


def test_a_rollout_survives_sigkill_of_the_server_and_resumes(tmp_path: Path) -> None:
    """kill -9 of `opsbook serve` mid-rollout: after the restart the same rollout goes on from
    the step it was at (the actuator agrees with what was stored) and reaches 100 %."""
    import httpx

    from tests.support.server import OpsbookServer, wait_until

    v1, v2 = VersionApp("v1"), VersionApp("v2")
    try:
        haproxy = HAProxyServer(v1.port, v2.port).start()
        prom = PrometheusServer(targets=[haproxy.metrics_target]).start()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    try:
        with (
            OpsbookServer(_config(prom.url, haproxy, "6s"), tmpdir=tmp_path / "srv") as srv,
            Load(haproxy.port, rate=100, max_seconds=60),
        ):
            token = srv.create_token("acme", role="commander")
            auth = {"Authorization": f"Bearer {token}"}
            srv.start()
            r = httpx.post(
                f"{srv.url}/api/v1/rollouts", json={"service": "web", "version": "v2"}, headers=auth
            )
            assert r.status_code == 201, r.text
            rid = r.json()["id"]

            def show() -> dict[str, Any]:
                out: dict[str, Any] = httpx.get(
                    f"{srv.url}/api/v1/rollouts/{rid}", headers=auth
                ).json()
                return out

            wait_until(lambda: show()["weight"] == 5, timeout=20, what="the first step (5 %)")
            srv.kill()  # SIGKILL: no shutdown, no lease released
            assert _weight(haproxy, "v2") == 5  # traffic stays where it was
            srv.start()
            wait_until(lambda: show()["status"] != "running", timeout=60, what="the rollout to end")
            done = show()
            assert done["status"] == "succeeded", done
            assert [e["weight"] for e in done["events"] if e["event"] == "step"] == [5, 50, 100]
            assert _weight(haproxy, "v2") == 100
    finally:
        prom.close()
        haproxy.close()
        v1.close()
        v2.close()
