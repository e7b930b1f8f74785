"""The rollout driver on a real database with a recorded actuator and scripted gate values:
durable across a restart mid-shift (resume or 0 %), one driver at a time, the API's acts and
validation, and the incident a failure opens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from opsbook.config.load import parse_config
from opsbook.config.rollouts import Rollout
from opsbook.core.errors import ConfigError
from opsbook.flows.rollouts import RolloutDriver
from opsbook.jobs.worker import Worker
from opsbook.storage.db import make_engine
from opsbook.storage.tables import Incident
from opsbook.storage.tables_rollouts import RolloutRow
from tests.support.app import Harness, running_app

CONFIG = """
tenants: [{name: acme}, {name: globex}]
services:
  - {name: web, tenant: acme}
  - {name: ledger, tenant: globex}
rollouts:
  - name: web
    service: web
    prometheus: "http://127.0.0.1:9"
    interval: 10s
    steps: [{weight: 5, pause: 1m}, {weight: 100}]
    gates: [{name: errors, query: 'errors{server="{{canary}}"}', max: 0.01}]
    actuator: {haproxy: {address: "127.0.0.1:9", backend: app, stable: v1, canary: v2}}
"""


class FakeTraffic:
    """Records weights; ``actual`` is what a read returns (None: cannot tell)."""

    def __init__(self) -> None:
        self.sets: list[int] = []
        self.actual: int | None = 0
        self.readable = True

    def set(self, weight: int) -> None:
        self.sets.append(weight)
        self.actual = weight

    def read(self) -> int | None:
        return self.actual if self.readable else None


RUNBOOK = """# web

## Rollback

```bash
helm rollback web 0 --namespace prod
```

```bash
kubectl rollout status deployment/web --namespace prod
```
"""


def _with_runbook(tmp_path: Path, config: str) -> str:
    (tmp_path / "web.md").write_text(RUNBOOK)
    return config.replace(
        "{name: web, tenant: acme}", f"{{name: web, tenant: acme, runbooks: ['{tmp_path}/web.md']}}"
    )


@pytest.fixture(params=[False])
def preapproved(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture(params=["sqlite"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database URL: SQLite, or PostgreSQL 15 for tests parametrized with "postgresql"."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_db"))
    return f"sqlite:///{tmp_path}/o.db"


@pytest.fixture
def env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, preapproved: bool, db: str
) -> Iterator[dict[str, Any]]:
    text = _with_runbook(tmp_path, CONFIG)
    if preapproved:
        text = text.replace(
            "    interval: 10s\n", "    interval: 10s\n    rollback: {preapproved: true}\n"
        )
    with running_app(db, text, run_worker=False) as h:
        st = h.client.app.state.opsbook  # type: ignore[attr-defined]
        traffic = FakeTraffic()
        # the API's abort/promote reach the actuator the config names: the same recorder
        monkeypatch.setattr("opsbook.flows.rollouts.traffic_for", lambda _actuator: traffic)
        values: list[float | None] = []

        def query(_base: str, promql: str) -> float | None:
            assert 'server="v2"' in promql  # {{canary}} was filled
            return values.pop(0) if values else 0.0

        driver = RolloutDriver(
            st.sessions,
            lambda: st.config,
            st.clock,
            catalog=lambda: st.catalog,
            traffic=lambda _p: traffic,
            query=query,
        )
        yield {"h": h, "st": st, "traffic": traffic, "values": values, "driver": driver,
               "worker": Worker(st.sessions, st.clock, driver.job_kinds())}  # fmt: skip


def _start(h: Harness) -> str:
    r = h.client.post(
        "/api/v1/rollouts", json={"service": "web", "version": "v2"}, headers=h.auth()
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _drain(w: Worker) -> None:
    while w.run_once():
        pass


def _get(h: Harness, rid: str) -> dict[str, Any]:
    out: dict[str, Any] = h.client.get(f"/api/v1/rollouts/{rid}", headers=h.auth()).json()
    return out


def test_steps_follow_the_clock_and_end_at_100(env: dict[str, Any]) -> None:
    h, w, traffic = env["h"], env["worker"], env["traffic"]
    rid = _start(h)
    _drain(w)
    assert traffic.sets == [5] and _get(h, rid)["weight"] == 5
    h.clock.advance(seconds=30)
    _drain(w)
    assert traffic.sets == [5]  # the step's pause (1m) holds
    for _ in range(6):
        h.clock.advance(seconds=10)
        _drain(w)
    r = _get(h, rid)
    assert r["status"] == "succeeded" and traffic.sets == [5, 100]
    notes = h.client.get("/api/v1/services/web/annotations", headers=h.auth(role="viewer")).json()
    assert (
        notes[0]["text"]
        == "rollout web of v2: succeeded (5 % → 100 %); every step passed its gates"
    )
    assert notes[0]["timeEnd"] > notes[0]["time"] and "rollout" in notes[0]["tags"]
    assert h.client.get("/api/v1/services/ledger/annotations", headers=h.auth()).status_code == 404


def test_a_restart_between_deciding_and_shifting_resumes_from_what_the_actuator_reads(
    env: dict[str, Any],
) -> None:
    h, st, w, traffic = env["h"], env["st"], env["worker"], env["traffic"]
    rid = _start(h)
    _drain(w)
    with st.sessions.begin() as s:  # the process died after "about to go to 100 %" was stored
        s.execute(update(RolloutRow).where(RolloutRow.id == rid).values(target_weight=100))
    traffic.actual = 5  # ... and before the actuator was called
    h.clock.advance(seconds=10)
    _drain(w)
    r = _get(h, rid)
    assert r["status"] == "running" and r["weight"] == 5  # it could tell: goes on


@pytest.mark.parametrize("db", ["sqlite", "postgresql"], indirect=True)
def test_a_restart_when_the_actuator_cannot_tell_falls_back_to_0(
    env: dict[str, Any], db: str
) -> None:
    h, st, w, traffic = env["h"], env["st"], env["worker"], env["traffic"]
    rid = _start(h)
    _drain(w)
    with st.sessions.begin() as s:
        s.execute(update(RolloutRow).where(RolloutRow.id == rid).values(target_weight=100))
    traffic.readable = False
    h.clock.advance(seconds=10)
    _drain(w)
    r = _get(h, rid)
    assert r["status"] == "failed" and traffic.sets[-1] == 0 and r["weight"] == 0
    assert "could not be known" in r["reason"] and r["incident_id"]


def test_a_weight_changed_by_hand_stops_the_rollout_at_0(env: dict[str, Any]) -> None:
    h, w, traffic = env["h"], env["worker"], env["traffic"]
    rid = _start(h)
    _drain(w)
    traffic.actual = 40  # someone used the runtime API by hand
    h.clock.advance(seconds=10)
    _drain(w)
    r = _get(h, rid)
    assert r["status"] == "failed" and "changed outside opsbook" in r["reason"]
    assert traffic.sets[-1] == 0


@pytest.mark.parametrize("db", ["sqlite", "postgresql"], indirect=True)
def test_a_failing_gate_rolls_back_and_opens_a_p1_incident_with_the_evidence(
    env: dict[str, Any],
    db: str,
) -> None:
    h, w, traffic, values = env["h"], env["worker"], env["traffic"], env["values"]
    rid = _start(h)
    _drain(w)
    values.append(0.05)
    h.clock.advance(seconds=10)
    _drain(w)
    r = _get(h, rid)
    assert r["status"] == "failed" and traffic.sets == [5, 0]
    assert "errors: 0.05 > max 0.01" in r["reason"]
    inc = h.client.get(f"/api/v1/incidents/{r['incident_id']}", headers=h.auth()).json()
    assert inc["severity"] == "P1" and inc["service"] == "web"
    timeline = h.client.get(f"/api/v1/incidents/{r['incident_id']}/timeline", headers=h.auth())
    text = timeline.text
    assert 'errors{server=\\"v2\\"}' in text or 'errors{server="v2"}' in text
    assert "rolled back at 5 %" in text


def _fail_once(env: dict[str, Any]) -> dict[str, Any]:
    """Start, then one failing evaluation; only the rollout's ticks run (the step runs it asks
    for stay queued for the step runner, which this test does not run)."""
    h, driver, st, values = env["h"], env["driver"], env["st"], env["values"]
    rid = _start(h)
    with st.sessions() as s:
        seq = s.get(RolloutRow, rid).seq
    driver.tick(rid, seq)
    values.append(0.05)
    h.clock.advance(seconds=10)
    driver.tick(rid, seq + 1)
    return _get(h, rid)


def _runs(h: Harness, incident_id: str) -> dict[str, str]:
    from opsbook.storage.tables import StepRun

    with make_engine(h.url).connect() as c:
        rows = c.execute(
            select(StepRun.command, StepRun.status).where(StepRun.incident_id == incident_id)
        ).all()
    return {cmd.split()[0]: status for cmd, status in rows}


def test_the_rollback_section_waits_at_the_step_gate(env: dict[str, Any]) -> None:
    h = env["h"]
    r = _fail_once(env)
    runs = _runs(h, r["incident_id"])
    assert runs["helm"] == "awaiting_approval"  # mutating: a person approves it
    assert runs["kubectl"] == "queued"  # read-only: runs at once
    pm = h.client.get(f"/api/v1/incidents/{r['incident_id']}/postmortem", headers=h.auth())
    assert pm.status_code == 200, pm.text
    assert "rollout gate errors fail" in pm.text and "rolled back at 5 %" in pm.text


@pytest.mark.parametrize("preapproved", [True], indirect=True)
def test_a_preapproving_rollback_policy_approves_the_rollback(env: dict[str, Any]) -> None:
    h = env["h"]
    r = _fail_once(env)
    runs = _runs(h, r["incident_id"])
    assert runs["helm"] == "queued" and runs["kubectl"] == "queued"
    timeline = h.client.get(f"/api/v1/incidents/{r['incident_id']}/timeline", headers=h.auth()).text
    assert "rollback-policy:web" in timeline


@pytest.mark.parametrize("db", ["sqlite", "postgresql"], indirect=True)
def test_one_driver_at_a_time(env: dict[str, Any], db: str) -> None:
    h, st, driver = env["h"], env["st"], env["driver"]
    rid = _start(h)
    with st.sessions() as s:
        seq = s.get(RolloutRow, rid).seq
    token = driver._claim(rid, seq)
    assert token is not None
    assert driver._claim(rid, seq) is None  # a second replica finds it leased
    assert driver.tick(rid, seq) is None


def test_api_acts_roles_and_validation(env: dict[str, Any]) -> None:
    h, w, traffic = env["h"], env["worker"], env["traffic"]
    bad = h.client.post("/api/v1/rollouts", json={"service": "web"}, headers=h.auth())
    assert bad.status_code == 422 and "version" in bad.text
    extra = h.client.post(
        "/api/v1/rollouts",
        json={"service": "web", "version": "v2", "weight": 100},
        headers=h.auth(),
    )
    assert extra.status_code == 422 and "weight" in extra.text
    other = h.client.post(
        "/api/v1/rollouts", json={"service": "web", "version": "v2"}, headers=h.auth("globex")
    )
    assert other.status_code == 404  # another tenant's plan is not visible
    viewer = h.client.post(
        "/api/v1/rollouts", json={"service": "web", "version": "v2"}, headers=h.auth(role="viewer")
    )
    assert viewer.status_code == 403
    rid = _start(h)
    _drain(w)
    assert (
        h.client.post(f"/api/v1/rollouts/{rid}/pause", headers=h.auth(role="responder")).json()[
            "status"
        ]
        == "paused"
    )
    h.clock.advance(minutes=5)
    _drain(w)
    assert _get(h, rid)["weight"] == 5  # paused: no step advances
    assert (
        h.client.post(
            f"/api/v1/rollouts/{rid}/resume", headers=h.auth(role="responder")
        ).status_code
        == 200
    )
    denied = h.client.post(f"/api/v1/rollouts/{rid}/promote", headers=h.auth(role="responder"))
    assert denied.status_code == 403  # skipping the gates is a commander's decision
    ab = h.client.post(f"/api/v1/rollouts/{rid}/abort", headers=h.auth(role="responder")).json()
    assert ab["status"] == "aborted" and traffic.sets[-1] == 0 and ab["incident_id"] is None
    again = h.client.post(f"/api/v1/rollouts/{rid}/abort", headers=h.auth())
    assert again.status_code == 409
    with make_engine(h.url).connect() as c:
        assert c.execute(select(Incident)).first() is None
    assert h.client.get("/api/v1/rollouts/nope", headers=h.auth()).status_code == 404


def test_abort_says_so_when_the_actuator_is_unreachable(tmp_path: Path) -> None:
    with running_app(f"sqlite:///{tmp_path}/u.db", CONFIG, run_worker=False) as h:
        rid = _start(h)
        r = h.client.post(f"/api/v1/rollouts/{rid}/abort", headers=h.auth())
        assert r.status_code == 409 and "runtime API at 127.0.0.1:9" in r.json()["detail"]
        assert _get(h, rid)["status"] == "running"  # nothing half-done: a person must act


def test_config_names_a_declared_service() -> None:
    with pytest.raises(ConfigError, match="rollouts"):
        parse_config(
            CONFIG.replace("service: web\n    prometheus", "service: nope\n    prometheus")
        )
    assert isinstance(parse_config(CONFIG).rollouts[0], Rollout)


def test_the_rollout_page_draws_each_gate_against_its_threshold(env: dict[str, Any]) -> None:
    from tests.support.web import add_web_users, sign_in

    h = env["h"]
    r = _fail_once(env)
    add_web_users(h)
    assert sign_in(h.client, "vera").status_code == 303  # viewers may look
    listing = h.client.get("/ui/rollouts")
    assert listing.status_code == 200 and f'href="/ui/rollouts/{r["id"]}"' in listing.text
    assert "failed" in listing.text and "rolled back" not in listing.text.split("<table")[0]
    page = h.client.get(f"/ui/rollouts/{r['id']}").text
    assert "<svg" in page and 'class="chart-target"' in page and 'data-value="0.01"' in page
    assert 'fill="#a50e0e" data-value="0.05"' in page  # the failing evaluation, drawn red
    assert "errors: 0.05 &gt; max 0.01" in page or "0.05 &gt; max 0.01" in page
    assert f'href="/ui/incidents/{r["incident_id"]}"' in page
    assert 'hx-trigger="every 5s"' not in page  # a finished rollout stops refreshing
    running = _start(h)
    assert 'hx-trigger="every 5s"' in h.client.get(f"/ui/rollouts/{running}").text  # live
    assert h.client.get("/ui/rollouts/nope").status_code == 404
