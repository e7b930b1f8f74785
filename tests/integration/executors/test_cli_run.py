"""`opsbook run` as a runbook author uses it: subprocess, no TTY, no server, no config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis as redis_lib

pytestmark = pytest.mark.xdist_group("executors")

RUNBOOK = """# Cache service

## RedisDown

**Alert:** `RedisDown`

### Investigation

```bash
# Health endpoint
curl -s "$API_BASE/health"
```

```bash
# Ping Redis
redis-cli -u $REDIS_URL ping
```

### Mitigation

```bash
# Set the maintenance flag
redis-cli -u $REDIS_URL SET opsbook:maintenance on
```
"""


def opsbook(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("API_BASE", "REDIS_URL")}
    return subprocess.run(
        [sys.executable, "-m", "opsbook.cli.main", "run", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env=env,
        timeout=60,
    )


@pytest.fixture
def runbook(tmp_path: Path) -> Path:
    path = tmp_path / "cache.md"
    path.write_text(RUNBOOK)
    return path


def test_without_section_lists_sections(runbook: Path) -> None:
    res = opsbook(str(runbook), cwd=runbook.parent)
    assert res.returncode == 2
    assert "redisdown" in res.stderr and "RedisDown" in res.stderr and "#SECTION" in res.stderr


def test_missing_variables_are_named_with_the_flag(runbook: Path) -> None:
    res = opsbook(f"{runbook}#RedisDown", cwd=runbook.parent)
    assert res.returncode == 2
    assert "missing variables: API_BASE, REDIS_URL" in res.stderr
    assert "--var API_BASE=VALUE --var REDIS_URL=VALUE" in res.stderr


def test_dry_run_shows_resolved_commands(runbook: Path) -> None:
    res = opsbook(f"{runbook}#redisdown", "--dry-run", "--var", "API_BASE=http://h:1",
                  "--var", "REDIS_URL=redis://:pw@r:6379/0", cwd=runbook.parent)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert 'curl -s "http://h:1/health"' in res.stdout
    assert "redis-cli -u redis://:******@r:6379/0 ping" in res.stdout  # URL password masked
    assert "[redis, mutating]" in res.stdout


def test_real_run_stops_before_mutating_without_tty(
    runbook: Path, redis_server, health_app
) -> None:
    client = redis_lib.Redis.from_url(redis_server.url_for(5))
    client.delete("opsbook:maintenance")
    args = [f"{runbook}#RedisDown", "--var", f"API_BASE={health_app.url}",
            "--var", f"REDIS_URL={redis_server.url_for(5)}"]  # fmt: skip
    res = opsbook(*args, cwd=runbook.parent)
    assert res.returncode == 3, res.stderr
    assert "▶ step 1/3 http" in res.stderr and "✓ ok" in res.stderr
    assert '"neo4j": "healthy"' in res.stdout and "PONG" in res.stdout
    assert "stopped before step 3/3 redis 'Set the maintenance flag' is mutating" in res.stderr
    assert "pass --allow mutating to run it" in res.stderr
    assert client.get("opsbook:maintenance") is None

    res = opsbook(*args, "--allow", "mutating", cwd=runbook.parent)
    assert res.returncode == 0, res.stderr
    assert client.get("opsbook:maintenance") == b"on"


def test_json_output_and_failure_exit_code(runbook: Path, health_app) -> None:
    res = opsbook(f"{runbook}#RedisDown", "--phase", "investigate", "--json",
                  "--var", f"API_BASE={health_app.url}", "--var", "REDIS_URL=redis://127.0.0.1:9/0",
                  "--timeout", "2", cwd=runbook.parent)  # fmt: skip
    assert res.returncode == 1
    doc = json.loads(res.stdout)
    assert doc["section"] == "redisdown" and doc["stopped"] is None
    first, second = doc["results"]
    assert first["kind"] == "http" and first["result"]["status"] == "ok"
    assert second["result"]["status"] == "error" and second["result"]["retryable"] is True
    assert set(second["result"]) == {
        "status",
        "summary",
        "duration_ms",
        "blocks",
        "retryable",
        "command",
    }


def test_step_selection_and_env_file(runbook: Path, redis_server) -> None:
    env_file = runbook.parent / "local.env"
    env_file.write_text(f"# local\nexport REDIS_URL='{redis_server.url}'\n")
    res = opsbook(f"{runbook}#RedisDown", "--phase", "investigate", "--step", "2",
                  "--env-file", str(env_file), cwd=runbook.parent)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "step 1/1 redis" in res.stderr and "PONG" in res.stdout
