"""A real `opsbook serve` with its in-process worker and real Redis: an alert opens an incident,
the runbook's diagnostics run by themselves, and the CLI runs and approves a mitigation."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import redis

from tests.support.server import OpsbookServer
from tests.support.services import RedisServer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("steps-live")]
RUNBOOK = Path(__file__).resolve().parents[1] / "support" / "runbooks" / "cache.md"


def test_diagnostics_run_on_open_and_the_cli_approves_a_destructive_step(
    redis_server: RedisServer,
) -> None:
    url = redis_server.url_for(9)
    r = redis.Redis.from_url(url)
    r.flushdb()
    r.set("session:1", "x")
    config = f"""
tenants: [{{name: acme}}]
users: [{{name: alice, tenant: acme, role: commander}}]
services:
  - {{name: cache, tenant: acme, runbooks: ["{RUNBOOK}"], variables: {{REDIS_URL: "{url}"}}}}
routes: [{{match: {{job: cache}}, service: cache}}]
"""
    with OpsbookServer(config) as srv:
        srv.start()
        intake = srv.create_token("acme", integration="alertmanager")
        responder = srv.create_token("acme", role="responder", name="bob")
        commander = srv.create_token("acme", role="commander", name="alice")
        import httpx

        body = {
            "alerts": [{"status": "firing", "labels": {"alertname": "CacheDown", "job": "cache"}}]
        }
        resp = httpx.post(
            f"{srv.url}/api/v1/integrations/alertmanager",
            json=body,
            headers={"Authorization": f"Bearer {intake}"},
            timeout=10,
        )
        inc = resp.json()["incidents"][0]
        runs: list[dict[str, object]] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            runs = httpx.get(
                f"{srv.url}/api/v1/incidents/{inc}/runs",
                headers={"Authorization": f"Bearer {responder}"},
                timeout=10,
            ).json()
            if len(runs) == 2 and all(x["status"] == "ok" for x in runs):
                break
            time.sleep(0.3)
        assert [(x["step"], x["status"]) for x in runs] == [(1, "ok"), (2, "ok")], runs
        assert "PONG" in json.dumps(runs[0]["result"])

        steps = srv.cli(
            "incidents", "steps", inc, env={"OPSBOOK_TOKEN": responder}, check=True
        ).stdout
        assert "destructive" in steps and "commander" in steps

        asked = srv.cli("incidents", "run", inc, "5", env={"OPSBOOK_TOKEN": responder}, check=True)
        assert "waits for approval" in asked.stdout
        # the request as the approver will see it: its id, the exact argv, target and hash
        run_id = re.search(r"request (run_[0-9a-z]+) for step 5", asked.stdout)
        shown_hash = re.search(r"shown_hash: ([0-9a-f]{64})", asked.stdout)
        assert run_id and shown_hash, asked.stdout
        assert '"redis-cli" "-u" "' in asked.stdout and '"FLUSHDB"' in asked.stdout
        assert f"target:   redis://127.0.0.1:{redis_server.port}/9" in asked.stdout
        assert r.get("session:1") == b"x"
        by_step = srv.cli("incidents", "approve", inc, "5", env={"OPSBOOK_TOKEN": commander})
        assert by_step.returncode != 0 and run_id[1] in by_step.stderr  # names the request
        wrong = srv.cli(
            "incidents",
            "approve",
            inc,
            run_id[1],
            "--hash",
            shown_hash[1],
            "--confirm",
            "yes",
            env={"OPSBOOK_TOKEN": commander},
        )
        assert wrong.returncode != 0 and "Flush the cache" in wrong.stderr
        ok = srv.cli(
            "incidents",
            "approve",
            inc,
            run_id[1],
            "--hash",
            shown_hash[1],
            "--confirm",
            "Flush the cache",
            env={"OPSBOOK_TOKEN": commander},
            check=True,
        )
        assert "step 5 ok" in ok.stdout
        assert r.get("session:1") is None
        shown = srv.cli(
            "incidents", "show", inc, env={"OPSBOOK_TOKEN": commander}, check=True
        ).stdout
        assert "alice approved bob's request for step 5" in shown
        assert "step 5 (redis, destructive) ok" in shown

        # alice asks herself: four eyes refuse her own approval; she breaks glass with a reason
        r.set("session:2", "x")
        own = srv.cli("incidents", "run", inc, "5", env={"OPSBOOK_TOKEN": commander}, check=True)
        own_id = re.search(r"request (run_[0-9a-z]+) for step 5", own.stdout)
        assert own_id and own_id[1] != run_id[1], own.stdout
        alone = srv.cli(
            "incidents", "approve", inc, own_id[1], "--self", "--confirm", "Flush the cache",
            env={"OPSBOOK_TOKEN": commander},
        )  # fmt: skip
        assert alone.returncode != 0 and "second person" in alone.stderr
        assert r.get("session:2") == b"x"
        glass = srv.cli(
            "incidents", "break-glass", inc, own_id[1], "--confirm", "Flush the cache",
            "--reason", "bob is offline and the cache serves stale prices",
            env={"OPSBOOK_TOKEN": commander}, check=True,
        )  # fmt: skip
        assert "will run: redis-cli" in glass.stdout  # the review it approved was shown first
        assert "step 5 ok" in glass.stdout and r.get("session:2") is None
        shown = srv.cli(
            "incidents", "show", inc, env={"OPSBOOK_TOKEN": commander}, check=True
        ).stdout
        assert "BREAK GLASS by alice: bob is offline and the cache serves stale prices" in shown
