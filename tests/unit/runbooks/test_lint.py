"""lint(): one case per finding code, with file:line, plus the rules-file helper."""

from __future__ import annotations

import pytest

from opsbook.runbooks.lint import Finding, alerts_from_rules_yaml, lint

from .conftest import parse

DOC = """
## Api Down
**Alert:** `ApiDown`

Nothing written yet.

## Cache
**Alert:** `CacheDown`
- `redis-cli -u $REDIS_URL ping`
- `./frobnicate.sh --now`
- Empty the cache: `redis-cli -u $REDIS_URL FLUSHALL`

Warning: this drops every session.
- `redis-cli -u $REDIS_URL FLUSHDB`

```brainfuck
+++.
```

## Cache again
**Alert:** `CacheDown`
- `curl -s $API_BASE/healthz`
"""


@pytest.fixture()
def findings() -> list[Finding]:
    rb = parse(DOC, "runbooks/api.md")
    return lint(
        [rb],
        known_variables={"REDIS_URL"},
        rule_alerts=["ApiDown", "CacheDown", "DiskFull", "api_down"],
    )


def codes(findings: list[Finding]) -> set[tuple[str, int, str, str]]:
    return {(f.path, f.line, f.severity, f.code) for f in findings}


@pytest.mark.parametrize(
    ("line", "severity", "code"),
    [
        (1, "error", "no-steps"),
        (9, "warning", "unknown-safety"),
        (10, "error", "destructive-without-warning"),
        (16, "warning", "unknown-kind"),
        (19, "error", "duplicate-alert"),
        (21, "warning", "undefined-variable"),
    ],
)
def test_each_finding_code(findings: list[Finding], line: int, severity: str, code: str) -> None:
    assert ("runbooks/api.md", line, severity, code) in codes(findings)


def test_warning_above_a_destructive_step_silences_it(findings: list[Finding]) -> None:
    assert ("runbooks/api.md", 13, "error", "destructive-without-warning") not in codes(findings)


def test_alerts_of_the_rules_without_a_section(findings: list[Finding]) -> None:
    missing = [f for f in findings if f.code == "alert-without-runbook"]
    assert [(f.path, f.severity, f.message) for f in missing] == [
        ("rules", "error", "alert DiskFull has no runbook section")
    ]


def test_findings_print_as_file_line(findings: list[Finding]) -> None:
    first = sorted(f for f in findings if f.path == "runbooks/api.md")[0]
    assert str(first).startswith("runbooks/api.md:1: error no-steps:")


def test_known_variables_none_skips_the_variable_check() -> None:
    rb = parse("## X\n- `curl $NOPE/x`\n")
    assert lint([rb]) == []


def test_duplicate_alert_across_files() -> None:
    a = parse("## A\n**Alert:** `Same`\n- `kubectl get pods`\n", "a.md")
    b = parse("## B\n**Alert:** `Same`\n- `kubectl get pods`\n", "b.md")
    dup = [f for f in lint([a, b]) if f.code == "duplicate-alert"]
    assert [(f.path, f.line, f.message) for f in dup] == [
        ("b.md", 1, "alert Same is also bound at a.md:1")
    ]


def test_read_errors_are_findings() -> None:
    from opsbook.runbooks.models import Runbook

    rb = Runbook(path="gone.md", title="gone", errors=("gone.md: cannot read: No such file",))
    assert [(f.code, f.severity) for f in lint([rb])] == [("read-error", "error")]


RULES = """
groups:
  - name: api
    rules:
      - alert: ApiDown
        expr: up == 0
      - record: job:x:rate5m
        expr: rate(x[5m])
      - alert: ApiSlow
        expr: x > 1
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
spec:
  groups:
    - name: k8s
      rules:
        - alert: KubePodCrashLooping
          expr: x
        - alert: ApiDown
          expr: y
"""


def test_alerts_from_rules_yaml() -> None:
    assert alerts_from_rules_yaml(RULES) == ["ApiDown", "ApiSlow", "KubePodCrashLooping"]


@pytest.mark.parametrize(
    "text", ["", "not: [valid", "- a\n- b", "groups: 3", "groups: [{rules: [{alert: 5}]}]"]
)
def test_alerts_from_bad_rules_yaml(text: str) -> None:
    assert alerts_from_rules_yaml(text) == []


def test_summary_table_rows_do_not_duplicate_a_written_up_alert() -> None:
    index = parse("## Alerts\n| Alert | Severity |\n|---|---|\n| `DiskFull` | critical |\n", "i.md")
    page = parse("# DiskFull\n## Mitigation\n- `df -h`\n", "DiskFull.md")
    assert lint([index, page], rule_alerts=["DiskFull"]) == []
    assert [f.code for f in lint([index])] == ["no-steps"]


def test_a_warning_after_an_inline_command_on_the_same_line_counts() -> None:
    rb = parse("## Cache\n- Empty it: `redis-cli FLUSHALL` (danger: every key is lost)\n")
    assert [f.code for f in lint([rb])] == []
