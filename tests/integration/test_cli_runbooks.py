"""`opsbook runbooks lint|show|export`, run as a user runs them (a subprocess, exit codes, output)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "runbooks"


def opsbook(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opsbook.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_lint_passes_the_examples_against_their_rule_file() -> None:
    r = opsbook(
        "runbooks", "lint", str(EXAMPLES), "--rules", str(EXAMPLES / "prometheus-rules.yml")
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 errors" in r.stderr


def test_lint_fails_with_file_and_line_on_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text(
        "# Cache runbook\n\n## CacheDown\n\n**Alert:** `CacheDown`\n\n## Reset\n\n```bash\nredis-cli FLUSHALL\n```\n"
    )
    rules = tmp_path / "rules.yml"
    rules.write_text(
        "groups:\n  - name: g\n    rules:\n      - alert: CacheDown\n        expr: up == 0\n"
        "      - alert: CacheEvictions\n        expr: rate(evicted[5m]) > 0\n"
    )
    r = opsbook("runbooks", "lint", str(bad), "--rules", str(rules))
    assert r.returncode == 1
    out = r.stdout
    assert f"{bad}:3: error" in out  # the alert section has no steps
    assert "destructive-without-warning" in out and f"{bad}:10:" in out
    assert "alert-without-runbook" in out and "CacheEvictions" in out


def test_show_prints_steps_with_safety_and_variables() -> None:
    r = opsbook(
        "runbooks", "show", str(EXAMPLES / "checkout-api.md"), "--section", "CheckoutApiDown"
    )
    assert r.returncode == 0, r.stderr
    assert (
        "Checkout API Down" in r.stdout and "MUTATING" in r.stdout and "needs: API_BASE" in r.stdout
    )
    r = opsbook("runbooks", "show", str(EXAMPLES / "checkout-api.md"), "--section", "Nope")
    assert r.returncode == 1 and "no section 'Nope'" in r.stderr


def test_export_json_has_the_documented_shape() -> None:
    r = opsbook("runbooks", "export", str(EXAMPLES / "checkout-api.md"), "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    section = doc["runbooks"][0]["sections"][0]
    assert set(section) >= {
        "id",
        "heading",
        "line",
        "alerts",
        "severity",
        "severity_normalized",
        "threshold",
        "symptoms",
        "phases",
    }
    step = next(s for p in section["phases"] for s in p["steps"] if s["executable"])
    assert set(step) == {
        "line",
        "title",
        "text",
        "executable",
        "kind",
        "inner_kind",
        "safety",
        "reason",
        "variables",
        "interactive",
        "interactive_reason",
    }


def test_lint_with_config_checks_every_services_runbooks_and_their_variables(
    tmp_path: Path,
) -> None:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "api.md").write_text((EXAMPLES / "checkout-api.md").read_text())
    cfg = tmp_path / "opsbook.yaml"
    cfg.write_text(
        "tenants: [{name: acme}]\n"
        "services:\n  - name: api\n    tenant: acme\n    runbooks: [runbooks/*.md]\n"
        "    variables: {API_BASE: 'http://127.0.0.1:1'}\n"
    )
    r = opsbook("runbooks", "lint", "--config", str(cfg), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr  # undefined variables are warnings
    assert "undefined-variable" in r.stdout and "DATABASE_URL" in r.stdout
    assert "API_BASE" not in r.stdout  # defined by the service
    assert "1 runbooks" in r.stderr
