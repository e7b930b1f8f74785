"""Heartbeats with an injected clock: pings keep them up, silence past interval + grace opens an
incident that pages, the next ping resolves it; Watchdog through the Alertmanager webhook is a
ping; the state survives a restart; tokens of other tenants or kinds cannot ping."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from opsbook.flows.escalation import Escalator
from opsbook.flows.heartbeats import HeartbeatWatch
from opsbook.jobs.worker import Worker
from opsbook.storage.tables import Incident
from tests.support.app import Harness, am_alert, am_body, running_app

CONFIG = """
tenants: [{name: acme}, {name: globex}]
users:
  - {name: alice, tenant: acme, contacts: ["json://127.0.0.1:9/alice"]}
schedules:
  - {name: primary, tenant: acme, rotation: {every: 1w, handoff: "Mon 09:00", participants: [alice]}}
escalation_policies:
  - {name: platform, tenant: acme, steps: [{notify: {schedule: primary}}]}
services:
  - {name: backups, tenant: acme, escalation_policy: platform}
  - {name: monitoring, tenant: acme, escalation_policy: platform}
  - {name: ledger, tenant: globex}
heartbeats:
  - {name: nightly-backup, service: backups, interval: 1h, grace: 10m, severity: P2}
  - {name: prometheus, service: monitoring, interval: 5m, grace: 1m, severity: P0,
     alert: Watchdog}
"""


class Pages:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, int]] = []

    def __call__(
        self, s: Session, incident: Incident, user: str, level: int, seq: int, now: datetime
    ) -> None:
        self.sent.append((incident.title, user, level))


def _worker(h: Harness, pages: Pages) -> Worker:
    st = h.client.app.state.opsbook  # type: ignore[attr-defined]
    kinds = {
        **Escalator(st.sessions, lambda: st.config, st.clock, pages).job_kinds(),
        **HeartbeatWatch(st.sessions, lambda: st.config, lambda: st.catalog, st.clock).job_kinds(),
    }
    return Worker(st.sessions, st.clock, kinds)


def _drain(w: Worker) -> None:
    for _ in range(200):  # bounded: a sweep chain re-queues itself for the next slot only
        if not w.run_once():
            return


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, Any]]:
    url = f"sqlite:///{tmp_path}/o.db"
    with running_app(url, CONFIG, run_worker=False) as h:
        pages = Pages()
        yield {"h": h, "pages": pages, "w": _worker(h, pages), "url": url}


def _state(h: Harness, name: str) -> dict[str, Any]:
    r = h.client.get("/api/v1/heartbeats", headers=h.auth("acme", "viewer"))
    assert r.status_code == 200, r.text
    return next(b for b in r.json() if b["name"] == name)


def _ping(h: Harness, name: str, **headers: str) -> Any:
    return h.client.post(f"/api/v1/heartbeats/{name}/ping", headers=headers or h.intake())


def _open_titles(h: Harness) -> list[tuple[str, str, str]]:
    return [(i["title"], i["severity"], i["status"]) for i in h.incidents()]


def test_a_missed_heartbeat_pages_and_the_next_ping_resolves(env: dict[str, Any]) -> None:
    h, w, pages = env["h"], env["w"], env["pages"]
    _drain(w)
    assert _state(h, "nightly-backup")["status"] == "waiting"
    r = _ping(h, "nightly-backup")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "up" and r.json()["due_at"] == "2026-01-01T13:10:00Z"

    h.clock.advance(hours=1, minutes=9)  # within interval + grace: nothing
    _drain(w)
    assert not [t for t, *_ in _open_titles(h) if "nightly-backup" in t]
    h.clock.advance(minutes=1, seconds=5)
    _drain(w)
    _drain(w)  # a second sweep raises nothing more (compare-and-set)
    late = [x for x in _open_titles(h) if "nightly-backup" in x[0]]
    assert late == [(late[0][0], "P2", "triggered")], late
    assert "no ping for 1h10m" in late[0][0]
    assert any("nightly-backup" in title and user == "alice" for title, user, _ in pages.sent)
    assert _state(h, "nightly-backup")["status"] == "late"

    # the cron job runs again: basic auth with the token as password, as `curl -u :TOKEN` sends
    token = h.tokens[("acme", "intake")]
    basic = "Basic " + base64.b64encode(f":{token}".encode()).decode()
    r = h.client.get("/api/v1/heartbeats/nightly-backup/ping", headers={"Authorization": basic})
    assert r.status_code == 200, r.text
    incidents = [i for i in h.incidents() if "nightly-backup" in i["title"]]
    assert [i["status"] for i in incidents] == ["resolved"]
    assert _state(h, "nightly-backup")["status"] == "up"


def _who_may_ping(h: Harness) -> None:
    assert _ping(h, "nightly-backup", Authorization="").status_code == 401
    viewer = h.auth("acme", "viewer")
    assert _ping(h, "nightly-backup", **viewer).status_code == 403  # an API token reads only
    assert _ping(h, "nightly-backup", **h.intake("globex")).status_code == 404  # not theirs
    r = _ping(h, "no-such-beat")
    assert r.status_code == 404 and "no heartbeat" in r.json()["detail"]
    globex = h.client.get("/api/v1/heartbeats", headers=h.auth("globex", "viewer")).json()
    assert globex == []


def test_watchdog_is_a_ping_and_only_intake_tokens_of_the_tenant_ping(env: dict[str, Any]) -> None:
    h, w = env["h"], env["w"]
    _drain(w)
    body = am_body(am_alert("Watchdog", severity="none"), am_alert("DiskFull", job="x"))
    answer = h.post_am(body)
    assert answer["alerts"] == 1  # DiskFull only
    assert [t for t, *_ in _open_titles(h) if "Watchdog" in t] == []
    st = _state(h, "prometheus")
    assert st["status"] == "up" and st["last_ping_via"] == "alert:Watchdog"
    for _ in range(3):  # Alertmanager re-sends Watchdog every repeat_interval
        h.clock.advance(minutes=4)
        h.post_am(am_body(am_alert("Watchdog", severity="none")))
        _drain(w)
    assert not [t for t, *_ in _open_titles(h) if "prometheus" in t]
    h.clock.advance(minutes=6, seconds=5)  # Prometheus (or Alertmanager) died: P0
    _drain(w)
    assert [s for t, s, _ in _open_titles(h) if "heartbeat prometheus missed" in t] == ["P0"]
    # a resolved Watchdog is no ping and resolves nothing
    h.post_am(am_body(am_alert("Watchdog", status="resolved")))
    assert _state(h, "prometheus")["status"] == "late"
    _who_may_ping(h)


def test_the_last_ping_survives_a_restart(env: dict[str, Any]) -> None:
    h, url = env["h"], env["url"]
    assert _ping(h, "nightly-backup").status_code == 200
    pinged_at = _state(h, "nightly-backup")["last_ping_at"]
    with running_app(url, CONFIG, run_worker=False) as again:  # a new process on the same db
        again.clock.advance(hours=1, minutes=11)
        assert _state(again, "nightly-backup")["last_ping_at"] == pinged_at
        _drain(_worker(again, Pages()))
        assert _state(again, "nightly-backup")["status"] == "late"
