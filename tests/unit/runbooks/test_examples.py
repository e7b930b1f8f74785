"""The project's own example runbooks parse into the sections the docs promise, and lint
clean against the example Prometheus rules."""

from __future__ import annotations

import pytest

from opsbook.runbooks.catalog import load_paths
from opsbook.runbooks.lint import alerts_from_rules_yaml, lint
from opsbook.runbooks.match import match_section
from opsbook.runbooks.models import Runbook

from .conftest import EXAMPLES


@pytest.fixture(scope="module")
def examples() -> dict[str, Runbook]:
    books = load_paths(["**/*.md"], EXAMPLES)
    return {b.path: b for b in books}


EXPECTED = {
    "checkout-api.md": [
        ("Checkout API Down", ["CheckoutApiDown"], "P0"),
        ("Checkout High Error Rate", ["CheckoutHighErrorRate"], "P1"),
        ("Checkout Latency High", ["CheckoutLatencyHigh"], "P2"),
    ],
    "search-indexer.md": [
        ("IndexerQueueBacklog", ["IndexerQueueBacklog"], None),
        ("IndexerWorkersDown", ["IndexerWorkersDown"], None),
    ],
    "ledger.md": [
        ("1. Standby replication lag", ["LedgerReplicationLag"], "P2"),
        ("2. Ledger connections exhausted", [], None),
    ],
    "alerts/PostgresConnectionsHigh.md": [
        ("PostgresConnectionsHigh", ["PostgresConnectionsHigh"], "P2")
    ],
    "alerts/RedisMemoryHigh.md": [("RedisMemoryHigh", ["RedisMemoryHigh"], "P2")],
}


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_example_sections(examples: dict[str, Runbook], path: str) -> None:
    rb = examples[path]
    assert rb.errors == ()
    got = [(s.heading, list(s.alerts), s.severity_normalized) for s in rb.sections]
    assert got == EXPECTED[path]
    assert all(s.steps for s in rb.sections)


@pytest.mark.parametrize(
    ("path", "heading", "phases"),
    [
        (
            "checkout-api.md",
            "Checkout API Down",
            ["investigate", "mitigate", "validate", "escalate"],
        ),
        (
            "search-indexer.md",
            "IndexerQueueBacklog",
            ["detect", "mitigate", "investigate", "mitigate", "postmortem"],
        ),
        (
            "ledger.md",
            "1. Standby replication lag",
            ["detect", "investigate", "mitigate", "validate", "postmortem"],
        ),
        (
            "alerts/PostgresConnectionsHigh.md",
            "PostgresConnectionsHigh",
            ["investigate", "mitigate"],
        ),
    ],
)
def test_example_phases(
    examples: dict[str, Runbook], path: str, heading: str, phases: list[str]
) -> None:
    section = examples[path].section(heading)
    assert section is not None
    assert [p.phase for p in section.phases] == phases


def test_examples_lint_clean_against_the_example_rules(examples: dict[str, Runbook]) -> None:
    rules = alerts_from_rules_yaml((EXAMPLES / "prometheus-rules.yml").read_text())
    assert len(rules) == 8
    variables = {"API_BASE", "DATABASE_URL", "REDIS_URL", "PROMETHEUS_URL"}
    findings = lint(examples.values(), variables, rules)
    assert [f for f in findings if f.severity == "error"] == []
    assert {f.code for f in findings} <= {"undefined-variable"}


def test_every_example_alert_matches_exactly(examples: dict[str, Runbook]) -> None:
    rules = alerts_from_rules_yaml((EXAMPLES / "prometheus-rules.yml").read_text())
    for alert in rules:
        m = match_section(list(examples.values()), alert, {}, {})
        assert m is not None and m.rule == "exact", alert


def test_destructive_example_steps_carry_warnings(examples: dict[str, Runbook]) -> None:
    destructive = [
        st
        for rb in examples.values()
        for s in rb.sections
        for st in s.steps
        if st.safety == "destructive"
    ]
    assert len(destructive) == 2
    assert all(st.warned for st in destructive)
