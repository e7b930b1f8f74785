"""Every attack of issue 11, replayed as a hostile insider would: through the API and the web UI,
as a responder, a commander and a viewer. Each must be refused (a 4xx naming what was wrong,
nothing stored) or inert (it runs, and the attacker's value changes nothing).

Where each attack is tried in more depth:
- variables and the process environment: tests/integration/executors/test_environment.py
  (hypothesis against real children), executors/test_request_variables.py;
- approving one request as seen (the ``--all`` swap): tests/integration/test_steps_approval.py;
- targets and IP notations: tests/unit/executors/test_resolve_redact.py, executors/test_safety.py;
- a catastrophic regex within 100 ms while intake answers: tests/e2e/test_hostile_regex.py;
- subscriptions: tests/integration/test_status_subscribe.py; reload, log redaction, /readyz:
  tests/e2e/test_reload.py, tests/integration/test_edges.py.
"""

from __future__ import annotations

import http.server
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from opsbook.jobs.kinds import all_job_kinds
from opsbook.jobs.worker import Worker
from opsbook.storage.db import make_engine, make_sessionmaker
from opsbook.web.sessions import save_user
from tests.support.app import Harness, am_alert, am_body, running_app
from tests.support.web import PASSWORD, WEB_USERS, csrf_of, sign_in

RUNBOOK = """# Hostile insider fixture

## Env Probe

**Alert:** `EnvProbe`
**Severity:** P2

### Investigation

Print the environment:

```bash
env
```

- Fetch the metrics: `curl -s http://$METRICS_HOST/metrics`
- Count sessions: `psql "$DATABASE_URL" -c "SELECT 1"`
- Look at the pod: `kubectl get pod $POD`
- Read its logs: `kubectl logs <pod-name> --tail=20`

### Mitigation

Run the tool:

```bash
python3 tool.py
```
"""
ENV, CURL, PSQL, KUBECTL, LOGS, TOOL = 1, 2, 3, 4, 5, 6
STEP_PATH = "/usr/bin:/bin"  # OPSBOOK_STEP_PATH of this server: not the default, not the server's

CONFIG = """
tenants: [{{name: acme}}]
services:
  - name: shop
    tenant: acme
    runbooks: ["{runbook}"]
    execution: {{auto_run: false}}
routes:
  - {{match: {{job: shop}}, service: shop}}
"""

# Request variables that hook a loader, an interpreter or a shell, or pick a connection target.
HOSTILE = [
    {"PATH": "/tmp/evil", "LD_PRELOAD": "/tmp/evil/x.so"},
    {"LD_LIBRARY_PATH": "/tmp/evil"},
    {"PYTHONWARNINGS": "ignore::x.Y", "BROWSER": "/tmp/evil/sh"},
    {"PYTHONPATH": "/tmp/evil"},
    {"BASH_ENV": "/tmp/evil/rc"},
    {"NODE_OPTIONS": "--require /tmp/evil.js"},
    {"IFS": "/"},
    {"GIT_SSH_COMMAND": "sh -c id"},
    {"HTTPS_PROXY": "http://127.0.0.1:9"},
    {"DATABASE_URL": "postgresql://attacker@127.0.0.1/postgres"},
    {"KUBECONFIG": "/tmp/evil/kubeconfig"},
    {"1BAD": "x"},
    {"POD NAME": "x"},
]
# Where the metrics step could be pointed at the server's own loopback, in every notation.
LOOPBACK_HOSTS = [
    "127.0.0.1:{port}",
    "localhost:{port}",
    "0177.0.0.1:{port}",
    "0x7f.1:{port}",
    "2130706433:{port}",
    "127.1:{port}",
    "[::ffff:127.0.0.1]:{port}",
    "[::1]:{port}",
    "0251.0376.0251.0376",
    "169.254.169.254",
]


class _Hits(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = b"secret_internal_metric 1\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class World:
    h: Harness
    inc: str
    worker: Worker
    metrics_port: int
    hits: list[str]
    evil: Path
    browsers: dict[str, TestClient] = field(default_factory=dict)

    def runs(self) -> list[dict[str, Any]]:
        r = self.h.client.get(f"/api/v1/incidents/{self.inc}/runs", headers=self.h.auth())
        assert r.status_code == 200, r.text
        out: list[dict[str, Any]] = r.json()
        return out

    def ask(self, role: str, step: int, variables: dict[str, str], **body: Any) -> Any:
        return self.h.client.post(
            f"/api/v1/incidents/{self.inc}/steps/{step}/run",
            json={"variables": variables, **body},
            headers=self.h.auth("acme", role),
        )

    def browser(self, login: str) -> TestClient:
        """A signed-in browser of its own for web user ``login`` (alice, bob, vera)."""
        if login not in self.browsers:
            engine = make_engine(self.h.url)  # saved now: hashing only the passwords needed
            with make_sessionmaker(engine).begin() as s:
                role = next(r for t, name, r in WEB_USERS if t == "acme" and name == login)
                save_user(s, "acme", login, role, PASSWORD, self.h.clock.now())
            engine.dispose()
            c = TestClient(self.h.client.app)
            assert sign_in(c, login).status_code == 303
            self.browsers[login] = c
        return self.browsers[login]

    def web_ask(self, login: str, step: int, variables: dict[str, str]) -> Any:
        c = self.browser(login)
        page = c.get(f"/ui/incidents/{self.inc}")
        form = {"csrf": csrf_of(page.text), **{f"var.{k}": v for k, v in variables.items()}}
        return c.post(
            f"/ui/incidents/{self.inc}/steps/{step}/run", data=form, follow_redirects=False
        )

    def drain(self) -> None:
        for _ in range(20):
            if self.worker.run_once() == 0:
                return


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    # The attacker controls a directory early on the *server's* PATH, with an `env` of their own,
    # and the server holds a secret in its environment: neither may reach a step.
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "env").write_text("#!/bin/sh\necho PWNED\n")
    (evil / "env").chmod(0o755)
    monkeypatch.setenv("PATH", f"{evil}:{os.environ['PATH']}")
    monkeypatch.setenv("OPSBOOK_TEST_SERVER_SECRET", "never-in-a-step")
    runbook = tmp_path / "hostile.md"
    runbook.write_text(RUNBOOK)
    _Hits.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hits)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = CONFIG.format(runbook=runbook)
    try:
        with running_app(
            f"sqlite:///{tmp_path}/o.db", config, run_worker=False, step_path=STEP_PATH
        ) as h:
            st = h.client.app.state.opsbook  # type: ignore[attr-defined]
            kinds = all_job_kinds(  # as `serve` wires them, settings included
                st.sessions, lambda: st.config, lambda: st.catalog, st.settings, st.clock
            )
            worker = Worker(st.sessions, st.clock, kinds)
            inc = h.post_am(am_body(am_alert("EnvProbe", job="shop")))["incidents"][0]
            yield World(h, inc, worker, server.server_address[1], _Hits.hits, evil)
    finally:
        server.shutdown()
        server.server_close()


def _named(r: Any, name: str) -> None:
    """A 422 problem whose field names the variable."""
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == f"variables.{name}", body
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("role", ["responder", "commander"])
def test_hook_and_target_variables_are_refused_by_the_api(world: World, role: str) -> None:
    for variables in HOSTILE:
        for step in (ENV, TOOL, PSQL, CURL):
            r = world.ask(role, step, variables)
            _named(r, next(iter(variables)))
            dry = world.ask(role, step, variables, dry_run=True)
            _named(dry, next(iter(variables)))
    assert world.runs() == []  # nothing stored, nothing queued
    world.drain()
    assert world.hits == []


@pytest.mark.parametrize("login", ["bob", "alice"])
def test_hook_and_target_variables_are_refused_by_the_web_form(world: World, login: str) -> None:
    for variables in HOSTILE[:4] + HOSTILE[9:11]:
        r = world.web_ask(login, ENV, variables)
        assert r.status_code == 422, r.text[:500]
        assert next(iter(variables)) in r.text  # the page names the refused variable
    assert world.runs() == []


def test_a_viewer_cannot_ask_for_any_run(world: World) -> None:
    for step in (ENV, CURL, TOOL):
        assert world.ask("viewer", step, {}).status_code == 403
        assert world.ask("viewer", step, HOSTILE[0]).status_code == 403
    assert world.web_ask("vera", ENV, {}).status_code == 403
    assert world.runs() == []


def test_the_step_process_never_sees_the_servers_path_or_environment(world: World) -> None:
    r = world.ask("responder", ENV, {})
    assert r.status_code == 202 and r.json()["status"] == "queued", r.text
    world.drain()
    (run,) = world.runs()
    assert run["status"] == "ok", run
    out = json.dumps(run["result"])
    assert "PWNED" not in out  # the attacker's `env` earlier on the server's PATH did not run
    assert "never-in-a-step" not in out and "OPSBOOK_TEST_SERVER_SECRET" not in out
    assert f"PATH={STEP_PATH}\\n" in out  # exactly the configured step PATH
    assert str(world.evil) not in out


@pytest.mark.parametrize("role", ["responder", "commander"])
def test_a_host_named_in_a_request_never_reaches_loopback_or_metadata(
    world: World, role: str
) -> None:
    for host in LOOPBACK_HOSTS:
        value = host.format(port=world.metrics_port)
        r = world.ask(role, CURL, {"METRICS_HOST": value})
        assert r.status_code == 202, (value, r.text)
    world.drain()
    runs = world.runs()
    assert len(runs) == len(LOOPBACK_HOSTS)
    for run in runs:
        summary = run["result"]["summary"]
        assert run["status"] == "failed" and summary.startswith("refused:"), run
        assert "secret_internal_metric" not in json.dumps(run["result"])
    assert world.hits == []  # nothing was fetched, in any notation


def test_a_host_named_in_the_web_form_is_refused_too(world: World) -> None:
    r = world.web_ask("bob", CURL, {"METRICS_HOST": f"0x7f.1:{world.metrics_port}"})
    assert r.status_code == 303, r.text[:500]
    world.drain()
    (run,) = world.runs()
    assert run["status"] == "failed" and run["result"]["summary"].startswith("refused:")
    assert world.hits == []


def test_a_viewers_catastrophic_regex_is_answered_at_once(world: World) -> None:
    h = world.h
    started = time.perf_counter()
    r = h.client.get(
        "/api/v1/silences/preview",
        params={"matchers": 'alertname=~"(.*.*.*.*.*)*$"'},
        headers=h.auth("acme", "viewer"),
    )
    elapsed = time.perf_counter() - started
    assert r.status_code in (200, 422), r.text
    assert elapsed < 2.0  # Python's backtracking engine would not finish this in hours
    # intake still answers right after
    assert h.post_am(am_body(am_alert("EnvProbe", job="shop", instance="b")))["incidents"]


def test_the_smaller_holes_are_closed(world: World) -> None:
    h = world.h
    assert h.client.post("/-/reload", headers=h.auth("acme", "admin")).status_code == 403
    by_operator = h.client.post("/-/reload", headers=h.operator())  # let through to the reload
    assert by_operator.status_code == 200 or "config" in by_operator.json()["detail"], (
        by_operator.text
    )
    for path, params in (
        ("/api/v1/reports", {"since": "99999999d"}),
        ("/api/v1/oncall", {"at": "9999-12-31T23:59:59Z"}),
    ):
        r = h.client.get(path, params=params, headers=h.auth("acme", "viewer"))
        assert r.status_code == 422, (path, r.text)
        assert r.json()["field"] in params, r.json()
    for year in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"):
        alert = am_alert("EnvProbe", job="shop", instance=f"y{year[:4]}")
        alert["startsAt"] = year
        inc_id = h.post_am(am_body(alert))["incidents"][0]
        inc = h.incident(inc_id)
        opened = inc["created_at"]
        assert inc.get("first_alert_at", opened)[:4] not in ("0001", "9999"), inc
        assert any("clamp" in e["message"] or "receipt" in e["message"] for e in inc["timeline"])


def test_pages_and_api_ask_only_for_what_a_request_may_set(world: World) -> None:
    h = world.h
    steps = h.client.get(f"/api/v1/incidents/{world.inc}/steps", headers=h.auth()).json()
    asks = {st["step"]: st["request_variables"] for st in steps}
    assert asks[CURL] == ["METRICS_HOST"] and asks[KUBECTL] == ["POD"]
    assert asks[PSQL] == []  # DATABASE_URL comes from the config only
    assert asks[LOGS] == ["POD_NAME"]  # `<pod-name>` is asked for as POD_NAME
    page = world.browser("bob").get(f"/ui/incidents/{world.inc}").text
    assert 'name="var.POD_NAME"' in page and 'name="var.pod-name"' not in page
    assert 'name="var.DATABASE_URL"' not in page
    missing = world.ask("responder", PSQL, {})
    assert missing.status_code == 422 and "service's config" in missing.json()["detail"]
    r = world.web_ask("bob", LOGS, {"POD_NAME": "web-1"})
    assert r.status_code == 303, r.text[:500]
    (run,) = world.runs()
    assert run["command"] == "kubectl logs web-1 --tail=20"
