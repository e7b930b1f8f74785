"""Escalation end to end with an injected clock: a P0 nobody acknowledges reaches level 2 on time;
acknowledging stops it; a worker killed mid-escalation neither loses nor repeats a level."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from opsbook.flows.escalation import Escalator
from opsbook.jobs.worker import Worker
from opsbook.storage import jobs
from opsbook.storage.tables import Incident
from tests.support.app import Harness, am_alert, am_body, running_app

CONFIG = """
tenants: [{name: acme}]
users:
  - {name: alice, tenant: acme, contacts: ["json://127.0.0.1:9/alice"]}
  - {name: bob, tenant: acme, contacts: ["json://127.0.0.1:9/bob"]}
  - {name: lead, tenant: acme, contacts: ["json://127.0.0.1:9/lead"]}
schedules:
  - name: primary
    tenant: acme
    rotation: {every: 1w, handoff: "Mon 09:00", participants: [alice, bob]}
escalation_policies:
  - name: platform
    tenant: acme
    steps:
      - {notify: {schedule: primary}}
      - {after: 15m, notify: {users: [lead]}}
services:
  - {name: api, tenant: acme, escalation_policy: platform}
routes:
  - {match: {job: api}, service: api}
"""


class Pages:
    """Records who was paged for which incident and level (the outbox stand-in)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, datetime]] = []

    def __call__(
        self, s: Session, incident: Incident, user: str, level: int, seq: int, now: datetime
    ) -> None:
        self.sent.append((user, level, now))


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, Any]]:
    with running_app(f"sqlite:///{tmp_path}/o.db", CONFIG, run_worker=False) as h:
        st = h.client.app.state.opsbook  # type: ignore[attr-defined]
        pages = Pages()
        esc = Escalator(st.sessions, lambda: st.config, st.clock, pages)
        yield {
            "h": h,
            "st": st,
            "pages": pages,
            "esc": esc,
            "worker": Worker(st.sessions, st.clock, esc.job_kinds()),
        }


def _drain(w: Worker) -> None:
    while w.run_once():
        pass


def _open(h: Harness) -> str:
    inc: str = h.post_am(am_body(am_alert("ApiDown", job="api", severity="critical")))["incidents"][
        0
    ]
    return inc


def test_p0_unacknowledged_reaches_level_2_at_the_ack_window(env: dict[str, Any]) -> None:
    h, pages, w = env["h"], env["pages"], env["worker"]
    inc = _open(h)
    _drain(w)
    assert [(u, lvl) for u, lvl, _ in pages.sent] == [
        ("alice", 0)
    ]  # 2026-01-01 is a Thursday: alice's week
    h.clock.advance(minutes=4, seconds=59)
    _drain(w)
    assert len(pages.sent) == 1
    h.clock.advance(seconds=2)  # the P0 window (5 min) passed: level 2 at once, not after 15 min
    _drain(w)
    assert [(u, lvl) for u, lvl, _ in pages.sent] == [("alice", 0), ("lead", 1)]
    tl = [e["message"] for e in h.incident(inc)["timeline"] if e["kind"] == "escalation"]
    assert "acknowledgement window passed" in tl[-1]
    assert h.incident(inc)["acknowledgement"]["breached"] is True


def test_acknowledging_stops_the_escalation(env: dict[str, Any]) -> None:
    h, pages, w = env["h"], env["pages"], env["worker"]
    inc = _open(h)
    _drain(w)
    h.clock.advance(minutes=2)
    assert (
        h.client.post(
            f"/api/v1/incidents/{inc}/acknowledge", headers=h.auth("acme", "responder")
        ).status_code
        == 200
    )
    h.clock.advance(minutes=30)
    _drain(w)
    assert [u for u, _, _ in pages.sent] == ["alice"]


def test_duplicate_and_stale_ticks_page_nobody_twice(env: dict[str, Any]) -> None:
    h, pages, w, st = env["h"], env["pages"], env["worker"], env["st"]
    inc = _open(h)
    with st.sessions.begin() as s:  # a second worker (or a retry) enqueues the same first tick
        jobs.enqueue(s, "acme", "escalate", {"incident_id": inc, "token": 1}, h.clock.now())
    _drain(w)
    assert [u for u, _, _ in pages.sent] == ["alice"]


def test_a_crash_mid_escalation_loses_and_repeats_nothing(env: dict[str, Any]) -> None:
    h, pages, st, esc = env["h"], env["pages"], env["st"], env["esc"]
    _open(h)
    first = Worker(st.sessions, st.clock, esc.job_kinds(), name="dies")
    _drain(first)
    h.clock.advance(minutes=5, seconds=1)
    with (
        st.sessions.begin() as s
    ):  # the worker claims level 2's tick, then is SIGKILLed before running it
        claimed = jobs.claim(s, "dies", h.clock.now(), esc.job_kinds()["escalate"].lease)
    assert len(claimed) == 1
    h.clock.advance(minutes=6)  # its lease runs out; another worker starts
    second = Worker(st.sessions, st.clock, esc.job_kinds(), name="survivor")
    assert second.recover() == 1
    _drain(second)
    assert [(u, lvl) for u, lvl, _ in pages.sent] == [("alice", 0), ("lead", 1)]
    inc_id = h.incidents()[0]["id"]
    last = [e for e in h.incident(inc_id)["timeline"] if e["kind"] == "escalation"][-1]
    assert "late" in last["message"] and last["data"]["late_seconds"] >= 300  # it says it ran late
    _drain(second)
    assert len(pages.sent) == 2


def test_a_route_overrides_the_policy_by_severity(tmp_path: Path) -> None:
    config = CONFIG.replace(
        "  - {match: {job: api}, service: api}",
        "  - {match: {job: api}, service: api, escalation_policy: {P3: quiet}}",
    ).replace(
        "escalation_policies:\n",
        "escalation_policies:\n  - {name: quiet, tenant: acme, steps: [{notify: {users: [lead]}}]}\n",
    )
    with running_app(f"sqlite:///{tmp_path}/o.db", config, run_worker=False) as h:
        st = h.client.app.state.opsbook  # type: ignore[attr-defined]
        pages = Pages()
        w = Worker(
            st.sessions,
            st.clock,
            Escalator(st.sessions, lambda: st.config, st.clock, pages).job_kinds(),
        )
        h.post_am(
            am_body(am_alert("ApiSlow", job="api", severity="info"))
        )  # P3: the route's policy
        h.post_am(am_body(am_alert("ApiDown", job="api", severity="critical")))  # P0: the service's
        _drain(w)
        assert sorted(u for u, _, _ in pages.sent) == ["alice", "lead"]
