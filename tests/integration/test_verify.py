"""`runbooks verify`: every read-only step runs against a real Redis, failures are named by what a
person must fix (command missing, host unreachable, variable undefined), nothing mutating ever
runs, the history is stored, staleness follows it, and the schedule runs once per slot."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from sqlalchemy import func, select
from typer.testing import CliRunner

from opsbook.cli.main import app as cli
from opsbook.config.load import parse_config
from opsbook.flows.runbook_catalog import RunbookCatalog
from opsbook.flows.verify import JOB, VerifySchedule, targets, verify
from opsbook.jobs.worker import Worker
from opsbook.storage.db import make_engine
from opsbook.storage.tables import Job
from opsbook.storage.tables_verify import StepVerification
from tests.support.app import Harness, running_app
from tests.support.services import RedisServer

RUNBOOK = """# Cache runbook

## Cache Down

**Alert**: CacheDown

### Investigate

```bash
redis-cli -u "$REDIS_URL" PING
```

```bash
rabbitmqctl list_queues
```

```bash
curl -sf "$HEALTH_URL/health"
```

```bash
redis-cli -u "$DEAD_REDIS" PING
```

### Mitigate

```bash
redis-cli -u "$REDIS_URL" FLUSHALL
```
"""


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(tmp: Path, redis_url: str, every: str | None = None) -> str:
    (tmp / "cache.md").write_text(RUNBOOK)
    schedule = f"verification: {{every: {every}, stale_after: 1d}}\n" if every else ""
    return f"""
tenants: [{{name: acme}}]
services:
  - name: cache
    tenant: acme
    runbooks: ["{tmp}/cache.md"]
    variables:
      REDIS_URL: "{redis_url}"
      DEAD_REDIS: "redis://127.0.0.1:{_closed_port()}/0"
    execution: {{allowed_hosts: ["127.0.0.1"]}}
{schedule}"""


@pytest.fixture
def canary(redis_server: RedisServer) -> Iterator[redis_lib.Redis]:
    r = redis_lib.Redis.from_url(redis_server.url_for(7))
    r.set("verify-canary", "still here")
    yield r
    r.delete("verify-canary")


def test_cli_names_each_failure_runs_nothing_mutating_and_keeps_history(
    tmp_path: Path,
    redis_server: RedisServer,
    canary: redis_lib.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = tmp_path / "opsbook.yaml"
    cfg.write_text(_config(tmp_path, redis_server.url_for(7)))
    monkeypatch.setenv("OPSBOOK_DATABASE_URL", f"sqlite:///{tmp_path}/o.db")
    (tmp_path / "bin").mkdir()  # the steps' PATH: nothing installed, so rabbitmqctl is missing
    monkeypatch.setenv("OPSBOOK_STEP_PATH", str(tmp_path / "bin"))
    runner = CliRunner()
    out = runner.invoke(cli, ["runbooks", "verify", "cache", "-c", str(cfg)])
    assert out.exit_code == 1, out.output
    lines = out.output.splitlines()

    def line(fragment: str) -> str:
        return next(x for x in lines if fragment in x)

    assert line("PING").startswith("✓") or "✓" in line('"$REDIS_URL" PING')
    assert "command-missing" in line("rabbitmqctl")
    assert "variable-undefined" in line("HEALTH_URL") and "HEALTH_URL" in line("HEALTH_URL")
    assert "unreachable" in line("DEAD_REDIS")
    assert "1 ok, 3 failed" in out.output
    assert canary.get("verify-canary") == b"still here"  # FLUSHALL (destructive) never ran
    with make_engine(f"sqlite:///{tmp_path}/o.db").connect() as c:
        rows = c.execute(select(StepVerification.status, StepVerification.category)).all()
    assert sorted(rows) == sorted(
        [("ok", "ok"), ("failed", "command-missing"), ("failed", "variable-undefined"),
         ("failed", "unreachable")]
    )  # fmt: skip
    status = runner.invoke(cli, ["runbooks", "verify", "cache", "-c", str(cfg), "--status"])
    assert status.exit_code == 1  # failing steps
    assert "failed (unreachable)" in status.output and "ok (ok)" in status.output
    missing = runner.invoke(cli, ["runbooks", "verify", "nosuch", "-c", str(cfg)])
    assert missing.exit_code == 2 and "no service 'nosuch'" in missing.output


@pytest.fixture
def h(tmp_path: Path, redis_server: RedisServer, canary: redis_lib.Redis) -> Iterator[Harness]:
    text = _config(tmp_path, redis_server.url_for(7), every="1h")
    with running_app(f"sqlite:///{tmp_path}/s.db", text, run_worker=False) as harness:
        yield harness


def _worker(h: Harness) -> tuple[Worker, VerifySchedule]:
    st: Any = h.client.app.state.opsbook  # type: ignore[attr-defined]
    empty = Path(h.url.removeprefix("sqlite:///")).parent / "bin"  # nothing installed
    empty.mkdir(exist_ok=True)
    sched = VerifySchedule(
        st.sessions, lambda: st.config, lambda: st.catalog, st.clock, step_path=str(empty)
    )
    return Worker(st.sessions, st.clock, sched.job_kinds()), sched


def test_api_request_runs_in_the_worker_and_staleness_follows_history(
    h: Harness, canary: redis_lib.Redis
) -> None:
    before = h.client.get("/api/v1/verifications", headers=h.auth(role="viewer")).json()
    assert before["stale"] == 4 and all(x["last"] is None for x in before["steps"])
    denied = h.client.post("/api/v1/verifications", json={}, headers=h.auth(role="viewer"))
    assert denied.status_code == 403
    bad = h.client.post("/api/v1/verifications", json={"service": "nope"}, headers=h.auth())
    assert bad.status_code == 404 and "service" in bad.text
    extra = h.client.post("/api/v1/verifications", json={"tenant": "x"}, headers=h.auth())
    assert extra.status_code == 422
    r = h.client.post("/api/v1/verifications", json={"service": "cache"}, headers=h.auth())
    assert r.status_code == 202, r.text
    worker, _ = _worker(h)
    while worker.run_once():
        pass
    after = h.client.get("/api/v1/verifications", headers=h.auth(role="viewer")).json()
    by_cat = {x["last"]["category"]: x for x in after["steps"]}
    assert set(by_cat) == {"ok", "command-missing", "variable-undefined", "unreachable"}
    assert after["failing"] == 3 and after["stale"] == 3  # only the passing step is fresh
    assert by_cat["ok"]["last"]["by"] == "acme-commander"
    assert canary.get("verify-canary") == b"still here"
    h.clock.advance(days=2)
    later = h.client.get(
        "/api/v1/verifications", params={"stale_only": True}, headers=h.auth(role="viewer")
    ).json()
    assert len(later["steps"]) == 4  # a pass two days ago is stale after stale_after: 1d


def test_schedule_queues_one_job_per_slot_however_many_workers(h: Harness) -> None:
    _, a = _worker(h)
    _, b = _worker(h)  # a second replica seeding at the same moment
    assert a.ensure_scheduled() and b.ensure_scheduled()
    with make_engine(h.url).connect() as c:
        n = c.scalar(select(func.count()).select_from(Job).where(Job.kind == JOB))
    assert n == 1


def test_only_read_only_non_interactive_steps_are_run(tmp_path: Path) -> None:
    (tmp_path / "x.md").write_text(
        "## Web Down\n\n```bash\ntail -f /var/log/syslog\n```\n\n"
        "```bash\nsystemctl restart nginx\n```\n\n```bash\nuptime\n```\n"
    )
    cfg = parse_config(
        f"tenants: [{{name: acme}}]\nservices: [{{name: web, tenant: acme, runbooks: ['{tmp_path}/x.md']}}]\n"
    )
    ran: list[str] = []

    def fake(step: Any, ctx: Any) -> Any:
        from opsbook.executors.common import now, result

        ran.append(step.text)
        return result("ok", "fine", now())

    outcomes = verify(
        targets(cfg, RunbookCatalog.load(cfg)), timeout=__import__("datetime").timedelta(seconds=5),
        step_path="/usr/bin:/bin", execute=fake,
    )  # fmt: skip
    assert ran == ["uptime"]
    skipped = {o.target.step.text: o.summary for o in outcomes if o.status == "skipped"}
    assert "interactive" in skipped["tail -f /var/log/syslog"]
    assert "mutating" in skipped["systemctl restart nginx"]
