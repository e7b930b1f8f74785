"""The generated SLO rule file: the expected recording/alerting rules, valid for promtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from opsbook.checks.rules import rules_for, rules_yaml
from opsbook.config.load import parse_config

CONFIG = parse_config("""
tenants: [{name: acme}]
services:
  - name: api
    tenant: acme
    slos:
      - {name: availability, good: 'http_requests_total{job="api",code!~"5.."}',
         total: 'http_requests_total{job="api"}', objective: 0.999}
      - {name: latency, latency: {buckets: 'http_request_duration_seconds_bucket{job="api"}',
         threshold: 0.5}, objective: 0.95, window: 7d}
      - {name: integral, latency: {buckets: h_bucket, threshold: 1}, objective: 0.9,
         window_scale: 0.01}
""")


def test_rules_have_one_record_per_window_and_the_workbook_alerts() -> None:
    group = rules_for(CONFIG)["groups"][0]
    records = [r["record"] for r in group["rules"] if "record" in r]
    assert records == [
        f"slo:sli_error:ratio_rate{w}" for w in ("5m", "30m", "1h", "6h", "3d", "30d")
    ]
    alerts = [r for r in group["rules"] if "alert" in r]
    assert [(a["labels"]["long_window"], a["labels"]["short_window"], a["labels"]["severity"])
            for a in alerts] == [("1h", "5m", "P1"), ("6h", "30m", "P1"), ("3d", "6h", "P3")]  # fmt: skip
    assert "> (14.4 * 0.001)" in alerts[0]["expr"]
    assert "budget_remaining" in alerts[0]["annotations"]


def test_promtool_accepts_the_rule_file(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is missing: apt-get install prometheus (CI has it)")
    path = tmp_path / "slo.rules.yml"
    path.write_text(rules_yaml(CONFIG))
    yaml.safe_load(path.read_text())
    out = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True,
                         timeout=60, check=False)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 27 rules found" in out.stdout
