"""Steps that never end or need a terminal (``redis-cli MONITOR``, ``tail -f``) are never run
as automatic diagnostics — the timeline says to run them by hand — and asking to run one is
refused with a 422 naming the step, while the bounded steps around them still run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbook.flows.run_steps import StepRunner
from opsbook.jobs.worker import Worker
from tests.support.app import Harness, am_alert, am_body, running_app
from tests.support.services import RedisServer

RUNBOOK = """# Cache runbook

## Cache Slow

**Alert:** `CacheSlow`
**Severity:** P2

### Investigation

```bash
redis-cli -u $REDIS_URL PING
redis-cli -u $REDIS_URL MONITOR
tail -f /var/log/syslog
timeout 1 tail -f /dev/null
```
"""
PING, MONITOR, TAIL, BOUNDED = 1, 2, 3, 4


@pytest.fixture
def env(redis_server: RedisServer, tmp_path: Path) -> Iterator[tuple[Harness, str, Worker]]:
    book = tmp_path / "cache.md"
    book.write_text(RUNBOOK)
    config = f"""
tenants: [{{name: acme}}]
services:
  - name: cache
    tenant: acme
    runbooks: ["{book}"]
    variables: {{REDIS_URL: "{redis_server.url_for(6)}"}}
routes:
  - {{match: {{job: cache}}, service: cache}}
"""
    with running_app(f"sqlite:///{tmp_path}/o.db", config, run_worker=False) as h:
        st = h.client.app.state.opsbook  # type: ignore[attr-defined]
        runner = StepRunner(st.sessions, lambda: st.config, lambda: st.catalog, st.clock)
        worker = Worker(st.sessions, st.clock, runner.job_kinds())
        inc = h.post_am(am_body(am_alert("CacheSlow", job="cache")))["incidents"][0]
        yield h, inc, worker


def _drain(worker: Worker) -> None:
    for _ in range(20):
        if worker.run_once() == 0:
            return


def test_interactive_steps_are_not_auto_run(env: tuple[Harness, str, Worker]) -> None:
    h, inc, worker = env
    _drain(worker)
    runs = h.client.get(f"/api/v1/incidents/{inc}/runs", headers=h.auth("acme", "viewer")).json()
    # the bounded follower ran and ended: timeout stops it after a second (exit 124)
    assert sorted((r["step"], r["status"], r["automatic"]) for r in runs) == [
        (PING, "ok", True),
        (BOUNDED, "failed", True),
    ]
    timeline = [e["message"] for e in h.incident(inc)["timeline"]]
    for step in (MONITOR, TAIL):
        assert any(
            f"step {step} " in m and "skipped: interactive: run by hand" in m for m in timeline
        ), timeline


def test_the_steps_list_marks_interactive_steps(env: tuple[Harness, str, Worker]) -> None:
    h, inc, _ = env
    steps = h.client.get(f"/api/v1/incidents/{inc}/steps", headers=h.auth("acme", "viewer")).json()
    marks = {s["step"]: (s["interactive"], s["interactive_reason"]) for s in steps}
    assert marks[PING] == (False, "")
    assert marks[MONITOR][0] and "MONITOR streams until stopped" in marks[MONITOR][1]
    assert marks[TAIL][0] and "follows output until stopped" in marks[TAIL][1]
    assert marks[BOUNDED] == (False, "")


def test_asking_to_run_an_interactive_step_is_refused(env: tuple[Harness, str, Worker]) -> None:
    h, inc, worker = env
    r = h.client.post(
        f"/api/v1/incidents/{inc}/steps/{TAIL}/run", json={}, headers=h.auth("acme", "responder")
    )
    assert r.status_code == 422
    problem = r.json()
    assert problem["field"] == "step"
    assert f"step {TAIL} (tail -f /var/log/syslog) is interactive" in problem["detail"]
    assert "run it by hand" in problem["detail"]
    _drain(worker)
    runs = h.client.get(f"/api/v1/incidents/{inc}/runs", headers=h.auth("acme", "viewer")).json()
    assert TAIL not in [r["step"] for r in runs]
