"""Steps that never end or need a terminal (``redis-cli MONITOR``, ``tail -f``) are never run
as automatic diagnostics — the timeline says to run them by hand. Asking to run one runs its
bounded form when it has one (``tail -n 200`` for ``tail -f``) and is refused with a 422 naming
the step when it has none; the bounded steps around them run as usual."""

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
tail -f LOGFILE
timeout 1 tail -f /dev/null
```
"""
PING, MONITOR, TAIL, BOUNDED = 1, 2, 3, 4


@pytest.fixture
def env(redis_server: RedisServer, tmp_path: Path) -> Iterator[tuple[Harness, str, Worker]]:
    log = tmp_path / "app.log"
    log.write_text("".join(f"line {i}\n" for i in range(1, 301)))
    book = tmp_path / "cache.md"
    book.write_text(RUNBOOK.replace("LOGFILE", str(log)))
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
    bounded = {s["step"]: s["bounded"] for s in steps}
    assert bounded[TAIL] is not None and bounded[TAIL].startswith("tail -n 200 ")
    assert bounded[MONITOR] is None
    assert marks[BOUNDED] == (False, "")


def test_asking_to_run_an_interactive_step_is_refused(env: tuple[Harness, str, Worker]) -> None:
    """``redis-cli MONITOR`` has no form that ends: the request is refused, nothing runs."""
    h, inc, worker = env
    r = h.client.post(
        f"/api/v1/incidents/{inc}/steps/{MONITOR}/run",
        json={},
        headers=h.auth("acme", "responder"),
    )
    assert r.status_code == 422
    problem = r.json()
    assert problem["field"] == "step"
    assert f"step {MONITOR} (redis-cli -u $REDIS_URL MONITOR) is interactive" in problem["detail"]
    assert "no bounded form; run it by hand" in problem["detail"]
    _drain(worker)
    runs = h.client.get(f"/api/v1/incidents/{inc}/runs", headers=h.auth("acme", "viewer")).json()
    assert MONITOR not in [r["step"] for r in runs]


def test_a_follower_runs_in_its_bounded_form(env: tuple[Harness, str, Worker]) -> None:
    """``tail -f`` asked for by hand runs as ``tail -n 200``: it ends, with the last lines."""
    h, inc, worker = env
    r = h.client.post(
        f"/api/v1/incidents/{inc}/steps/{TAIL}/run", json={}, headers=h.auth("acme", "responder")
    )
    assert r.status_code == 202, r.text
    _drain(worker)
    runs = h.client.get(f"/api/v1/incidents/{inc}/runs", headers=h.auth("acme", "viewer")).json()
    (run,) = [x for x in runs if x["step"] == TAIL]
    assert run["status"] == "ok"
    assert run["command"].startswith("tail -n 200 ")
    out = str(run["result"])
    assert "line 300" in out and "line 101" in out and "line 100\\n" not in out
