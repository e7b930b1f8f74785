"""The approval gate with real Redis: a state-changing step happens exactly once per valid approval
and never without one — not for the wrong role, a self-approval where a second person is needed,
a changed step or variables, an expired request, or another tenant."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from opsbook.config.load import parse_config
from opsbook.executors import execute
from opsbook.executors.models import ExecContext, StepResult
from opsbook.flows.run_steps import StepRunner
from opsbook.jobs.worker import Worker
from opsbook.runbooks.models import Step
from tests.support.app import Harness, am_alert, am_body, running_app
from tests.support.services import RedisServer

RUNBOOK = Path(__file__).resolve().parents[1] / "support" / "runbooks" / "cache.md"
PING, GET, SET, DEL, FLUSH, VALIDATE = 1, 2, 3, 4, 5, 6


def _config(redis_url: str, second_person: bool = False) -> str:
    return f"""
tenants: [{{name: acme}}, {{name: globex}}]
services:
  - name: cache
    tenant: acme
    runbooks: ["{RUNBOOK}"]
    variables: {{REDIS_URL: "{redis_url}"}}
    execution:
      mutating: {{role: responder, second_person: {str(second_person).lower()}}}
  - {{name: other, tenant: globex}}
routes:
  - {{match: {{job: cache}}, service: cache}}
"""


class Counting:
    """The real executor, counting what it runs (by command)."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def __call__(self, step: Step, ctx: ExecContext) -> StepResult:
        self.ran.append(step.text)
        return execute(step, ctx)


@pytest.fixture
def env(
    redis_server: RedisServer, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[dict[str, Any]]:
    url = redis_server.url_for(5)
    client = redis.Redis.from_url(url)
    client.flushdb()
    second = getattr(request, "param", False)
    with running_app(f"sqlite:///{tmp_path}/o.db", _config(url, second), run_worker=False) as h:
        st = h.client.app.state.opsbook  # type: ignore[attr-defined]
        counting = Counting()
        runner = StepRunner(
            st.sessions, lambda: st.config, lambda: st.catalog, st.clock, execute=counting
        )
        worker = Worker(st.sessions, st.clock, runner.job_kinds())
        inc = h.post_am(am_body(am_alert("CacheDown", job="cache")))["incidents"][0]
        yield {
            "h": h,
            "redis": client,
            "worker": worker,
            "inc": inc,
            "counting": counting,
            "state": st,
        }
        client.flushdb()


def _drain(worker: Worker) -> None:
    for _ in range(20):
        if worker.run_once() == 0:
            return


def _post(
    h: Harness,
    inc: str,
    step: int,
    action: str,
    role: str,
    body: dict[str, Any] | None = None,
    tenant: str = "acme",
) -> Any:
    return h.client.post(
        f"/api/v1/incidents/{inc}/steps/{step}/{action}", json=body, headers=h.auth(tenant, role)
    )


def _decide(
    h: Harness,
    inc: str,
    run: dict[str, Any],
    verb: str,
    role: str,
    body: dict[str, Any] | None = None,
    tenant: str = "acme",
) -> Any:
    """Approve (or reject) request ``run`` as it was shown: its id and its review's hash."""
    payload = {"shown_hash": run["review"]["shown_hash"], **(body or {})}
    return h.client.post(
        f"/api/v1/incidents/{inc}/runs/{run['id']}/{verb}",
        json=payload,
        headers=h.auth(tenant, role),
    )


def test_read_only_diagnostics_run_when_the_incident_opens(env: dict[str, Any]) -> None:
    h, inc = env["h"], env["inc"]
    _drain(env["worker"])
    runs = h.client.get(f"/api/v1/incidents/{inc}/runs", headers=h.auth("acme", "viewer")).json()
    assert [(r["step"], r["status"], r["automatic"]) for r in runs] == [
        (PING, "ok", True),
        (GET, "ok", True),
    ]
    assert "PONG" in str(runs[0]["result"])
    tl = [e["message"] for e in h.incident(inc)["timeline"]]
    assert any("step 1 (redis, read-only) ok" in m for m in tl)
    # the mitigations did not run
    assert env["redis"].get("opsbook:flag") is None


def test_mutating_step_runs_once_when_a_responder_asks(env: dict[str, Any]) -> None:
    h, inc, r = env["h"], env["inc"], env["redis"]
    assert _post(h, inc, SET, "run", "viewer").status_code == 403
    asked = _post(h, inc, SET, "run", "responder")
    assert asked.status_code == 202 and asked.json()["status"] == "awaiting_approval"
    _drain(env["worker"])
    assert r.get("opsbook:flag") is None  # asking is not approving
    # approving one's own request is an explicit act, refused without saying so
    implicit = _decide(h, inc, asked.json(), "approve", "responder")
    assert implicit.status_code == 409 and "self_approve" in implicit.json()["detail"]
    own = _decide(h, inc, asked.json(), "approve", "responder", {"self_approve": True})
    assert own.status_code == 200 and own.json()["status"] == "queued"
    assert own.json()["decisions"][0]["self_approved"] is True
    tl = [e["message"] for e in h.incident(inc)["timeline"]]
    assert any("acme-responder self-approved their own request for step 3" in m for m in tl)
    _drain(env["worker"])
    _drain(env["worker"])
    assert r.get("opsbook:flag") == b"on"
    assert env["counting"].ran.count("redis-cli -u $REDIS_URL SET opsbook:flag on") == 1


@pytest.mark.parametrize("env", [True], indirect=True)
def test_second_person_is_required_when_configured(env: dict[str, Any]) -> None:
    h, inc, r = env["h"], env["inc"], env["redis"]
    alone = _post(h, inc, SET, "run", "commander", {"approve": True})
    assert alone.status_code == 403 and "second person" in alone.json()["detail"]
    resp = _post(h, inc, SET, "run", "commander")
    assert resp.json()["status"] == "awaiting_approval"
    _drain(env["worker"])
    assert r.get("opsbook:flag") is None  # never without an approval
    run = resp.json()
    refused = _decide(h, inc, run, "approve", "commander", {"self_approve": True})  # same person
    assert refused.status_code == 403 and "second person" in refused.json()["detail"]
    assert _decide(h, inc, run, "approve", "responder").json()["status"] == "queued"
    _drain(env["worker"])
    assert r.get("opsbook:flag") == b"on"


def test_destructive_needs_a_commander_and_the_typed_name(env: dict[str, Any]) -> None:
    h, inc, r = env["h"], env["inc"], env["redis"]
    r.set("k1", "v")
    resp = _post(h, inc, FLUSH, "run", "responder")
    assert resp.json()["status"] == "awaiting_approval"
    run = resp.json()
    assert _decide(h, inc, run, "approve", "responder").status_code == 403  # wrong role
    no_name = _decide(h, inc, run, "approve", "commander")
    assert no_name.status_code == 422 and no_name.json()["field"] == "confirmation"
    assert "Flush the cache" in no_name.json()["detail"]
    assert (
        _decide(h, inc, run, "approve", "commander", {"confirmation": "flush"}).status_code == 422
    )
    _drain(env["worker"])
    assert r.get("k1") == b"v"
    ok = _decide(h, inc, run, "approve", "commander", {"confirmation": "Flush the cache"})
    assert ok.status_code == 200 and ok.json()["status"] == "queued"
    _drain(env["worker"])
    assert r.get("k1") is None
    assert env["counting"].ran.count("redis-cli -u $REDIS_URL FLUSHDB") == 1
    # the approval was used: approving the same request again finds it no longer waiting
    again = _decide(h, inc, run, "approve", "commander", {"confirmation": "Flush the cache"})
    assert again.status_code == 409 and "not waiting" in again.json()["detail"]


def test_an_approval_expires(env: dict[str, Any]) -> None:
    h, inc = env["h"], env["inc"]
    run = _post(h, inc, FLUSH, "run", "responder").json()
    h.clock.advance(minutes=16)
    late = _decide(h, inc, run, "approve", "commander", {"confirmation": "Flush the cache"})
    assert late.status_code == 409 and "expired" in late.json()["detail"]
    _drain(env["worker"])
    assert env["counting"].ran.count("redis-cli -u $REDIS_URL FLUSHDB") == 0
    runs = h.client.get(f"/api/v1/incidents/{inc}/runs", headers=h.auth("acme", "viewer")).json()
    assert [x["status"] for x in runs if x["step"] == FLUSH] == [
        "expired"
    ]  # closed, not left waiting


def test_per_runbook_gates_override_the_service(redis_server: RedisServer, tmp_path: Path) -> None:
    config = _config(redis_server.url_for(5)).replace(
        "      mutating: {role: responder, second_person: false}",
        "      mutating: {role: responder}\n      runbooks: [{path: cache.md, mutating: {role: commander}}]",
    )
    with running_app(f"sqlite:///{tmp_path}/o.db", config, run_worker=False) as h:
        inc = h.post_am(am_body(am_alert("CacheDown", job="cache")))["incidents"][0]
        alone = _post(h, inc, SET, "run", "responder", {"approve": True})
        assert alone.status_code == 403 and "commander" in alone.json()["detail"]
        asked = _post(h, inc, SET, "run", "responder")
        assert asked.json()["status"] == "awaiting_approval"  # this runbook wants a commander
        assert _decide(h, inc, asked.json(), "approve", "responder").status_code == 403
        assert _decide(h, inc, asked.json(), "approve", "commander").json()["status"] == "queued"


def test_changed_variables_void_the_request(env: dict[str, Any], redis_server: RedisServer) -> None:
    h, inc, st = env["h"], env["inc"], env["state"]
    run = _post(h, inc, FLUSH, "run", "responder").json()
    st.config = parse_config(
        _config(redis_server.url_for(6))
    )  # someone pointed REDIS_URL elsewhere
    changed = _decide(h, inc, run, "approve", "commander", {"confirmation": "Flush the cache"})
    assert changed.status_code == 409 and "changed" in changed.json()["detail"]
    _drain(env["worker"])
    assert env["counting"].ran.count("redis-cli -u $REDIS_URL FLUSHDB") == 0


def test_a_change_between_approval_and_execution_is_caught(
    env: dict[str, Any], redis_server: RedisServer
) -> None:
    h, inc, st, r = env["h"], env["inc"], env["state"], env["redis"]
    r.set("k1", "v")
    run = _post(h, inc, FLUSH, "run", "responder").json()
    assert (
        _decide(
            h, inc, run, "approve", "commander", {"confirmation": "Flush the cache"}
        ).status_code
        == 200
    )
    st.config = parse_config(_config(redis_server.url_for(6)))
    _drain(env["worker"])
    assert r.get("k1") == b"v"
    runs = h.client.get(f"/api/v1/incidents/{inc}/runs", headers=h.auth("acme", "viewer")).json()
    assert [x["status"] for x in runs if x["step"] == FLUSH] == ["changed"]


def test_missing_variables_are_asked_for_never_guessed(env: dict[str, Any]) -> None:
    h, inc, r = env["h"], env["inc"], env["redis"]
    r.set("victim", "1")
    missing = _post(h, inc, DEL, "run", "commander")
    assert (
        missing.status_code == 422
        and missing.json()["field"] == "variables"
        and "KEY" in missing.json()["detail"]
    )
    dry = _post(h, inc, DEL, "run", "commander", {"variables": {"KEY": "victim"}, "dry_run": True})
    assert dry.json()["command"].endswith('DEL "victim"') or "victim" in dry.json()["command"]
    assert dry.json()["confirmation"] == "Delete a key a tenant names"
    _drain(env["worker"])
    assert r.get("victim") == b"1"  # a dry run runs nothing


def test_another_tenant_can_neither_run_nor_approve(env: dict[str, Any]) -> None:
    h, inc = env["h"], env["inc"]
    run = _post(h, inc, FLUSH, "run", "responder").json()
    for verb in ("approve", "reject", "break-glass"):
        other = _decide(
            h,
            inc,
            run,
            verb,
            "commander",
            {"confirmation": "Flush the cache", "reason": "globex breaks acme's glass"},
            tenant="globex",
        )
        assert other.status_code == 404, verb
    assert (
        h.client.get(
            f"/api/v1/incidents/{inc}/runs/{run['id']}", headers=h.auth("globex", "admin")
        ).status_code
        == 404
    )
    assert _post(h, inc, SET, "run", "commander", tenant="globex").status_code == 404
    assert (
        h.client.get(f"/api/v1/incidents/{inc}/runs", headers=h.auth("globex", "admin")).status_code
        == 404
    )


def test_validate_steps_run_when_the_incident_resolves(env: dict[str, Any]) -> None:
    h, inc = env["h"], env["inc"]
    _drain(env["worker"])
    h.client.post(f"/api/v1/incidents/{inc}/resolve", headers=h.auth("acme", "commander"))
    _drain(env["worker"])
    runs = h.client.get(f"/api/v1/incidents/{inc}/runs", headers=h.auth("acme", "viewer")).json()
    assert (VALIDATE, "ok") in [(x["step"], x["status"]) for x in runs]


def test_a_canary_secret_appears_nowhere(
    redis_server: RedisServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    canary = "canary-Zq8xW3-secret"
    monkeypatch.setenv("OPSBOOK_TEST_CACHE_PASSWORD", canary)
    hostport = redis_server.url.split("//", 1)[1].split("/", 1)[0]
    config = _config(redis_server.url_for(5)).replace(
        '    variables: {REDIS_URL: "',
        f"    secrets: {{CACHE_PASSWORD: {{env: OPSBOOK_TEST_CACHE_PASSWORD}}}}\n"
        f'    variables: {{CACHE_HOSTPORT: "{hostport}", REDIS_URL: "',
    )
    with running_app(f"sqlite:///{tmp_path}/o.db", config, run_worker=False) as h:
        st = h.client.app.state.opsbook  # type: ignore[attr-defined]
        worker = Worker(
            st.sessions,
            st.clock,
            StepRunner(st.sessions, lambda: st.config, lambda: st.catalog, st.clock).job_kinds(),
        )
        inc = h.post_am(am_body(am_alert("CacheAuthCheck", job="cache")))["incidents"][0]
        _drain(worker)
        runs = h.client.get(f"/api/v1/incidents/{inc}/runs", headers=h.auth("acme", "viewer"))
        assert len(runs.json()) == 1 and runs.json()[0]["status"] in ("ok", "failed", "error")
        dry = _post(h, inc, 1, "run", "responder", {"dry_run": True})
        steps = h.client.get(f"/api/v1/incidents/{inc}/steps", headers=h.auth("acme", "viewer"))
        detail = h.client.get(f"/api/v1/incidents/{inc}", headers=h.auth("acme", "viewer"))
        with st.sessions() as s:
            from sqlalchemy import text

            dump = " ".join(
                str(row)
                for t in ("step_runs", "timeline_entries", "jobs")
                for row in s.execute(text(f"SELECT * FROM {t}"))
            )
        captured = capsys.readouterr()
        everything = " ".join(
            [runs.text, dry.text, steps.text, detail.text, dump, captured.out, captured.err]
        )
        assert "******" in runs.text  # the command is shown, masked
        assert canary not in everything
