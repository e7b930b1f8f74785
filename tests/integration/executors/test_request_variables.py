"""Through the API, as a responder would try it: a run request's variables are data. A hook
(PATH, LD_PRELOAD, PYTHONWARNINGS, BROWSER …), a connection target (DATABASE_URL …), a name the
step does not use or the service defines is a 422 naming ``variables.<name>``, nothing stored;
a host built from a request value is never called, loopback included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsbook.flows.run_steps import StepRunner
from opsbook.jobs.worker import Worker
from tests.support.app import Harness, am_alert, am_body, running_app

from .conftest import HealthApp

pytestmark = pytest.mark.xdist_group("executors")

RUNBOOK = """# Probe runbook

## Probe Down

**Alert:** `ProbeDown`

### Investigation

- Show the environment: `printenv LANG HOME`
- Fetch the metrics: `curl -s $API_BASE/metrics`
- Count connections: `psql $DATABASE_URL -c "SELECT 1"`
- Show one pod: `echo <pod-name>`
- Fetch the local metrics: `curl -s http://127.0.0.1:@PORT@/metrics`
"""
ENV, FETCH, PSQL, POD, LOCAL_FETCH = 1, 2, 3, 4, 5


def _config(runbook: Path, allowed: str) -> str:
    return f"""
tenants: [{{name: acme}}]
services:
  - name: probe
    tenant: acme
    runbooks: ["{runbook}"]
    variables: {{REGION: eu}}
    execution: {{allowed_hosts: [{allowed}]}}
routes:
  - {{match: {{job: probe}}, service: probe}}
"""


@pytest.fixture(params=[""], ids=["no-hosts-named"])
def env(
    request: pytest.FixtureRequest, tmp_path: Path, health_app: HealthApp
) -> Iterator[dict[str, Any]]:
    runbook = tmp_path / "probe.md"
    runbook.write_text(RUNBOOK.replace("@PORT@", str(health_app.port)))
    config = _config(runbook, request.param)
    with running_app(f"sqlite:///{tmp_path}/o.db", config, run_worker=False) as h:
        st = h.client.app.state.opsbook  # type: ignore[attr-defined]
        runner = StepRunner(st.sessions, lambda: st.config, lambda: st.catalog, st.clock)
        worker = Worker(st.sessions, st.clock, runner.job_kinds())
        inc = h.post_am(am_body(am_alert("ProbeDown", job="probe")))["incidents"][0]
        _drain(worker)  # the automatic diagnostics, before the test asks for anything
        yield {"h": h, "inc": inc, "worker": worker}


def _drain(worker: Worker) -> None:
    for _ in range(20):
        if worker.run_once() == 0:
            return


def _run(h: Harness, inc: str, step: int, variables: dict[str, str], **extra: Any) -> Any:
    return h.client.post(
        f"/api/v1/incidents/{inc}/steps/{step}/run",
        json={"variables": variables, **extra},
        headers=h.auth("acme", "responder"),
    )


def _runs(h: Harness, inc: str) -> list[dict[str, Any]]:
    r = h.client.get(f"/api/v1/incidents/{inc}/runs", headers=h.auth("acme", "viewer"))
    assert r.status_code == 200, r.text
    runs: list[dict[str, Any]] = r.json()
    return runs


REFUSED = [
    (ENV, "PATH", "loader, interpreter or shell"),
    (ENV, "LD_PRELOAD", "loader, interpreter or shell"),
    (ENV, "PYTHONWARNINGS", "loader, interpreter or shell"),
    (ENV, "BROWSER", "loader, interpreter or shell"),
    (ENV, "http_proxy", "loader, interpreter or shell"),
    (PSQL, "DATABASE_URL", "decides where a step connects"),
    (ENV, "REDIS_URL", "decides where a step connects"),
    (ENV, "PGHOST", "decides where a step connects"),
    (FETCH, "REGION", "defined by the service's config"),
    (FETCH, "POD_NAME", "does not use POD_NAME"),
    (POD, "pod-name", "send it as POD_NAME"),
    (POD, "1X", "not a variable name"),
]


def test_a_variable_the_request_may_not_set_is_a_422_naming_it(env: dict[str, Any]) -> None:
    h, inc = env["h"], env["inc"]
    before = _runs(h, inc)
    for step, name, why in REFUSED:
        for extra in ({}, {"dry_run": True}):
            r = _run(h, inc, step, {name: "/tmp/evil"}, **extra)
            assert r.status_code == 422, (name, r.text)
            body = r.json()
            assert body["field"] == f"variables.{name}" and why in body["detail"], body
        if (
            step != POD and name != "POD_NAME"
        ):  # next to a valid value: the whole request is refused
            r = _run(h, inc, POD, {"POD_NAME": "web-1", name: "x"})
            assert r.status_code == 422 and r.json()["field"] == f"variables.{name}"
    assert _runs(h, inc) == before  # nothing stored


def test_a_declared_value_runs_as_data(env: dict[str, Any]) -> None:
    h, inc = env["h"], env["inc"]
    r = _run(h, inc, POD, {"POD_NAME": "web-1; id"})
    assert r.status_code == 202, r.text
    _drain(env["worker"])
    run = next(x for x in _runs(h, inc) if x["step"] == POD)
    assert run["status"] == "ok" and run["result"]["summary"] == "web-1; id"
    r = _run(h, inc, POD, {"POD_NAME": "a\x00b"})
    assert r.status_code == 422 and r.json()["field"] == "variables.POD_NAME"


def test_a_host_from_a_request_is_never_called(env: dict[str, Any], health_app: HealthApp) -> None:
    h, inc = env["h"], env["inc"]
    seen = len(health_app.requests)
    hosts = [health_app.url, health_app.url.replace("127.0.0.1", "localhost"),
             f"http://0x7f.1:{health_app.port}", f"http://2130706433:{health_app.port}",
             f"http://[::ffff:127.0.0.1]:{health_app.port}",
             f"http://0251.0376.0251.0376:{health_app.port}"]  # fmt: skip
    for base in hosts:
        assert _run(h, inc, FETCH, {"API_BASE": base}).status_code == 202
    _drain(env["worker"])
    runs = [x for x in _runs(h, inc) if x["step"] == FETCH]
    assert len(runs) == len(hosts)
    for run in runs:
        summary = run["result"]["summary"]
        assert run["status"] == "failed" and summary.startswith("refused:"), summary
        assert "given in the request" in summary or "cloud-metadata" in summary, summary
    assert len(health_app.requests) == seen  # nothing reached the server


def test_loopback_written_in_the_runbook_is_refused_unless_the_config_names_it(
    env: dict[str, Any], health_app: HealthApp
) -> None:
    h, inc = env["h"], env["inc"]
    seen = len(health_app.requests)
    assert _run(h, inc, LOCAL_FETCH, {}).status_code == 202
    _drain(env["worker"])
    run = next(x for x in _runs(h, inc) if x["step"] == LOCAL_FETCH)
    assert run["status"] == "failed" and "a loopback address" in run["result"]["summary"]
    assert "execution.allowed_hosts" in run["result"]["summary"]
    assert len(health_app.requests) == seen


@pytest.mark.parametrize("env", ['"127.0.0.1"', '"127.0.0.0/8"'], indirect=True)
def test_a_loopback_host_the_config_names_is_called(
    env: dict[str, Any], health_app: HealthApp
) -> None:
    h, inc = env["h"], env["inc"]
    assert _run(h, inc, LOCAL_FETCH, {}).status_code == 202
    _drain(env["worker"])
    run = next(x for x in _runs(h, inc) if x["step"] == LOCAL_FETCH)
    assert run["status"] == "ok", run["result"]["summary"]
    assert health_app.requests[-1]["path"] == "/metrics"
    # a request may use a host the config names (the allow-list is the config's), no other
    assert _run(h, inc, FETCH, {"API_BASE": health_app.url}).status_code == 202
    other = health_app.url.replace("127.0.0.1", "localhost")
    assert _run(h, inc, FETCH, {"API_BASE": other}).status_code == 202
    _drain(env["worker"])
    named, unnamed = [x for x in _runs(h, inc) if x["step"] == FETCH][-2:]
    assert named["status"] == "ok", named["result"]["summary"]
    assert unnamed["status"] == "failed"
    assert "given in the request" in unnamed["result"]["summary"]


def test_what_a_request_may_set_is_listed_by_its_request_name(tmp_path: Path) -> None:
    from opsbook.config.load import parse_config
    from opsbook.flows.step_inputs import requestable
    from opsbook.runbooks.parse import parse_runbook

    runbook = parse_runbook(RUNBOOK.replace("@PORT@", "9"), "probe.md")
    steps = [st for ph in runbook.sections[0].phases for st in ph.steps]
    svc = parse_config(_config(tmp_path / "probe.md", "")).services[0]
    assert [requestable(st, svc) for st in steps] == [[], ["API_BASE"], [], ["POD_NAME"], []]
