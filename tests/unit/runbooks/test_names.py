"""Helpers shared by the reader, matching and lint: names, slugs, phases, severities, BM25."""

from __future__ import annotations

import pytest

from opsbook.runbooks.bm25 import BM25, tokens
from opsbook.runbooks.fields import field_of, normalize_severity, phase_of, split_label
from opsbook.runbooks.frontmatter import split_front_matter
from opsbook.runbooks.names import (
    SlugRegistry,
    github_slug,
    looks_like_alert_name,
    normalize_key,
    plain,
    split_words,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("MaestroServiceDown", True),
        ("KubePodCrashLooping", True),
        ("etcdNoLeader", True),
        ("HighRAGLatency", True),
        ("Neo4jDatabaseDown", True),
        ("node_disk_full", True),
        ("Overview", False),
        ("PostgreSQL", False),
        ("REDIS_URL", False),
        ("Socket.IO", False),
        ("high-error-rate", False),
        ("OK", False),
    ],
)
def test_looks_like_alert_name(name: str, expected: bool) -> None:
    assert looks_like_alert_name(name) is expected


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("High Error Rate", "high-error-rate"),
        ("Auth Attack / Suspicious Activity", "auth-attack--suspicious-activity"),
        ("2.3 Enrichment queue backlog", "23-enrichment-queue-backlog"),
        ("Backup & Recovery", "backup--recovery"),
        ("Runbook: Backend Down", "runbook-backend-down"),
    ],
)
def test_github_slug(heading: str, slug: str) -> None:
    assert github_slug(heading) == slug


def test_slug_registry_numbers_repeats() -> None:
    reg = SlugRegistry()
    assert [reg.unique(h) for h in ["Logs", "Logs", "Logs-1", "Logs"]] == [
        "logs",
        "logs-1",
        "logs-1-1",
        "logs-2",
    ]


def test_names_and_words() -> None:
    assert normalize_key("HighErrorRate") == normalize_key("high-error-rate") == "higherrorrate"
    assert split_words("HighRAGLatency") == ["high", "rag", "latency"]
    assert plain("**Check** the [dashboard](http://x) and `kubectl get pods`") == (
        "Check the dashboard and kubectl get pods"
    )


@pytest.mark.parametrize(
    ("label", "phase"),
    [
        ("Investigation Steps", "investigate"),
        ("#### Immediate Actions:", "mitigate"),
        ("3. Mitigation & Resolution", "mitigate"),
        ("Post-Incident (Within 24 hours)", "postmortem"),
        ("Verification", "validate"),
        ("Escalation", "escalate"),
        ("Common Causes & Fixes", "mitigate"),
        ("Possible causes", "investigate"),
        ("Kubernetes Rollback", "mitigate"),
        ("Redis recovery failure while the primary is down", None),
        ("Runbook: Backend Down", None),
        ("Health Checks", "investigate"),
        ("What to do", "mitigate"),
        ("Steps", None),
    ],
)
def test_phase_of(label: str, phase: str | None) -> None:
    assert phase_of(label) == phase


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("Critical (P0)", "P0"),
        ("Warning (P1)", "P1"),
        ("critical", "P0"),
        ("high", "P1"),
        ("warning", "P2"),
        ("info", "P3"),
        ("SEV1", "P0"),
        ("sev-2", "P1"),
        ("P4", "P3"),
        ("whatever", None),
        (None, None),
    ],
)
def test_normalize_severity(text: str | None, level: str | None) -> None:
    assert normalize_severity(text) == level


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("**Alert:** `HighErrorRate`", ("Alert", "`HighErrorRate`", True)),
        ("**Detect**: error spikes", ("Detect", "error spikes", True)),
        ("**Triage**", ("Triage", "", True)),
        ("Immediate actions:", ("Immediate actions", "", False)),
        ("This sentence has a colon: and goes on", None),
    ],
)
def test_split_label(line: str, expected: tuple[str, str, bool] | None) -> None:
    assert split_label(line) == expected


def test_field_names() -> None:
    assert [field_of(x) for x in ("Alerts", "Priority", "Threshold:", "Symptoms", "Impact")] == [
        "alert",
        "severity",
        "threshold",
        "symptoms",
        None,
    ]


def test_front_matter_variants() -> None:
    fm, body, err = split_front_matter('+++\ntitle = "X"\n+++\nbody\n')
    assert (fm, body.split("\n")[3], err) == ({"title": "X"}, "body", None)
    fm, body, err = split_front_matter("+++\ntitle = \n+++\nbody\n")
    assert fm == {} and err is not None and body.startswith("+++")
    assert split_front_matter("---\n- a list\n---\n")[2] == "front matter is not a mapping; ignored"
    assert split_front_matter("no front matter")[0] == {}


def test_bm25_prefers_the_document_with_the_rare_terms() -> None:
    docs = [tokens(t) for t in ("redis memory high", "postgres connections", "redis latency")]
    index = BM25(docs)
    q = tokens("RedisMemoryHigh")
    scores = [index.score(q, i) for i in range(3)]
    assert scores.index(max(scores)) == 0
    assert scores[1] == 0.0
