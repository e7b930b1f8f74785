"""match_section(): each rule on its own, their order, and junk that must not match."""

from __future__ import annotations

import pytest

from opsbook.runbooks.match import heading_key, match_section
from opsbook.runbooks.models import Runbook
from opsbook.runbooks.parse import parse_runbook

from .conftest import parse

CATALOG_TEXT = """
# Payments runbook

## High Error Rate
**Alert:** `PaymentsHighErrorRate`
- `kubectl logs deploy/payments`

## Database Connections Exhausted
### Symptoms
- "too many clients" in the payments logs
- checkout requests time out waiting for a database connection
### Fix
- `psql -c "SELECT count(*) FROM pg_stat_activity"`

### Runbook: Backend Down
- `curl -s $API_BASE/healthz`

## Redis memory near the limit
- `redis-cli INFO memory`
"""


@pytest.fixture()
def catalog() -> list[Runbook]:
    hugo = parse_runbook(
        "---\ntitle: Kube Job Failed\n---\n## Diagnosis\n- `kubectl get jobs`\n",
        "content/runbooks/kubernetes/KubeJobFailed.md",
    )
    return [parse(CATALOG_TEXT, "docs/runbooks/payments.md"), hugo]


def test_exact_alert_name(catalog: list[Runbook]) -> None:
    m = match_section(catalog, "PaymentsHighErrorRate", {}, {})
    assert m is not None
    assert (m.rule, m.score, m.section.heading, m.suggested) == (
        "exact",
        1.0,
        "High Error Rate",
        False,
    )


@pytest.mark.parametrize(
    "alertname",
    ["HighErrorRate", "high-error-rate", "High Error Rate", "BackendDown", "backend_down"],
)
def test_normalized_name(catalog: list[Runbook], alertname: str) -> None:
    m = match_section(catalog, alertname, {}, {})
    assert m is not None and m.rule == "normalized"
    assert m.section.heading in ("High Error Rate", "Runbook: Backend Down")


@pytest.mark.parametrize(
    ("url", "heading"),
    [
        (
            "https://github.com/acme/ops/blob/main/docs/runbooks/payments.md#redis-memory-near-the-limit",
            "Redis memory near the limit",
        ),
        ("https://git.example.com/ops/-/blob/main/docs/runbooks/payments.md", "High Error Rate"),
        ("https://runbooks.example.dev/runbooks/kubernetes/kubejobfailed/", "Kube Job Failed"),
        (
            "https://github.com/x/y/blob/main/payments.md#database-connections-exhausted",
            "Database Connections Exhausted",
        ),
    ],
)
def test_runbook_url(catalog: list[Runbook], url: str, heading: str) -> None:
    m = match_section(catalog, "SomethingElse", {}, {"runbook_url": url})
    assert m is not None
    assert (m.rule, m.section.heading) == ("runbook_url", heading)


def test_runbook_url_to_an_unknown_file_does_not_match(catalog: list[Runbook]) -> None:
    m = match_section(catalog, "Zzz", {}, {"runbook_url": "https://x/other.md#high-error-rate"})
    assert m is None


def test_fulltext_suggestion_with_score(catalog: list[Runbook]) -> None:
    m = match_section(
        catalog,
        "PostgresTooManyClients",
        {"job": "payments"},
        {"summary": "too many clients on the payments database"},
    )
    assert m is not None
    assert (m.rule, m.section.heading, m.suggested) == (
        "fulltext",
        "Database Connections Exhausted",
        True,
    )
    assert m.score > 1.0


def test_fulltext_uses_the_alert_name_words(catalog: list[Runbook]) -> None:
    m = match_section(catalog, "RedisMemoryNearLimit", {}, {})
    assert m is not None and m.rule == "fulltext"
    assert m.section.heading == "Redis memory near the limit"


@pytest.mark.parametrize(
    ("alertname", "annotations"),
    [
        ("CertificateExpiringSoon", {"summary": "TLS certificate for www expires in 7 days"}),
        ("Watchdog", {}),
        ("X", {"summary": "the"}),
    ],
)
def test_junk_does_not_match(
    catalog: list[Runbook], alertname: str, annotations: dict[str, str]
) -> None:
    assert match_section(catalog, alertname, {"severity": "critical"}, annotations) is None


def test_rules_are_tried_in_order(catalog: list[Runbook]) -> None:
    url = "https://x/docs/runbooks/payments.md#redis-memory-near-the-limit"
    m = match_section(catalog, "PaymentsHighErrorRate", {}, {"runbook_url": url})
    assert m is not None and m.rule == "exact"


def test_empty_catalog() -> None:
    assert match_section([], "Anything", {}, {"runbook_url": "https://x/a.md"}) is None


def test_heading_key_drops_prefixes_numbers_and_parentheses() -> None:
    assert heading_key("Runbook: Backend Down") == "backenddown"
    assert heading_key("2.3 Enrichment queue backlog") == "enrichmentqueuebacklog"
    assert heading_key("High Error Rate (5xx Errors)") == "higherrorrate"


def test_seed_sections_match(seeds: dict[str, Runbook]) -> None:
    catalog = [seeds["004"]]
    m = match_section(catalog, "BackendDown", {}, {})
    assert m is not None and (m.rule, m.section.heading) == ("normalized", "Runbook: Backend Down")
    m = match_section([seeds["000"]], "EnrichmentQueueBacklog", {}, {})
    assert m is not None and m.section.heading == "2.3 Enrichment queue backlog"
    m = match_section([seeds["002"]], "HighRAGLatency", {}, {})
    assert m is not None and m.rule == "exact"


def test_exact_prefers_a_section_with_steps() -> None:
    index = parse(
        "## Alerts\n| Alert | Severity |\n|---|---|\n| `DiskFull` | critical |\n", "index.md"
    )
    page = parse("# DiskFull\n## Mitigation\n- `df -h`\n", "DiskFull.md")
    m = match_section([index, page], "DiskFull", {}, {})
    assert m is not None and m.runbook.path == "DiskFull.md"


@pytest.mark.parametrize(
    ("seed", "alertname", "annotations", "rule", "heading"),
    [
        (
            "000",
            "Neo4jConnectivityIssue",
            {"summary": "Neo4j driver errors and timeouts"},
            "fulltext",
            "2.6 Neo4j connectivity/locks",
        ),
        (
            "000",
            "EnrichmentBacklogHigh",
            {"summary": "queue depth rising"},
            "fulltext",
            "2.3 Enrichment queue backlog",
        ),
        ("000", "SocketIOReconnectStorm", {}, "fulltext", "2.8 Socket.IO reconnect storms"),
        (
            "001",
            "MaestroPodsCrashing",
            {"summary": "orchestrator pods not responding"},
            "fulltext",
            "MaestroServiceDown",
        ),
        ("003", "DiskFull", {}, "fulltext", "Disk Space Full"),
        ("003", "HighLatency", {}, "exact", "High Latency / Slow Responses"),
        ("004", "Neo4jUnhealthy", {}, "normalized", "Neo4j unhealthy"),
        (
            "004",
            "MilvusDown",
            {"summary": "Milvus connection timeout"},
            "fulltext",
            "Milvus connection timeout",
        ),
    ],
)
def test_alerts_find_seed_sections(
    seeds: dict[str, Runbook],
    seed: str,
    alertname: str,
    annotations: dict[str, str],
    rule: str,
    heading: str,
) -> None:
    m = match_section([seeds[seed]], alertname, {}, annotations)
    assert m is not None and (m.rule, m.section.heading) == (rule, heading)


def test_unrelated_alert_finds_no_seed_section(seeds: dict[str, Runbook]) -> None:
    m = match_section([seeds["002"]], "CertificateExpiry", {}, {"summary": "TLS cert expires"})
    assert m is None
