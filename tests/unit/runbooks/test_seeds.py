"""The five seed runbooks, read completely: every alert or incident section with its alerts,
every code block found, and the kind and safety a careful engineer gives to their commands.
Expected values were written by reading the seeds, not by running the parser."""

from __future__ import annotations

import re

import pytest

from opsbook.runbooks.lint import lint
from opsbook.runbooks.models import Runbook

from .conftest import steps_of

# (heading, alerts) of every alert or incident section, per seed.
INCIDENT_SECTIONS: dict[str, list[tuple[str, list[str]]]] = {
    "000": [
        ("2.1 LLM breaker open / upstream degraded", []),
        ("2.2 Streaming latency spike", []),
        ("2.3 Enrichment queue backlog", []),
        ("2.4 Hot tenant quota/abuse", []),
        ("2.5 Redis degraded/outage", []),
        ("2.6 Neo4j connectivity/locks", []),
        ("2.7 Postgres audit bloat", []),
        ("2.8 Socket.IO reconnect storms", []),
        ("2.9 Prompt\u2011injection false positives", []),
        ("2.10 DSAR / Right\u2011to\u2011erasure", []),
    ],
    "001": [
        ("MaestroServiceDown", ["MaestroServiceDown"]),
        ("Neo4jDatabaseDown", ["Neo4jDatabaseDown"]),
        ("HighErrorRate", ["HighErrorRate"]),
        ("SecurityEventSpike", ["SecurityEventSpike"]),
    ],
    "002": [
        ("High Error Rate", ["HighErrorRate"]),
        ("Service Down", ["ServiceDown"]),
        ("Circuit Breaker Open", ["CircuitBreakerOpen"]),
        ("Database Connection Issues", ["DatabaseConnectionPoolExhausted"]),
        ("Auth Attack / Suspicious Activity", ["SuspiciousAuthActivity"]),
        ("Tenant Isolation Violation", ["TenantIsolationViolation"]),
        ("High RAG Latency", ["HighRAGLatency"]),
        ("Low Availability", ["APIAvailabilityLow"]),
    ],
    "003": [
        ("High Error Rate (5xx Errors)", ["HighErrorRate"]),
        ("High Latency / Slow Responses", ["HighLatency"]),
        ("Pod/Container Crash Loop", ["PodCrashLooping"]),
        ("Database Connection Pool Exhausted", []),
        ("Disk Space Full", []),
        ("Application Won't Start", []),
        ("Deployment Failing", []),
        ("Performance Degradation", []),
        ("Data Issues", []),
    ],
    "004": [
        ("Error rate", []),
        ("P95 latency", []),
        ("Ingestion failures", []),
        ("Neo4j unhealthy", []),
        ("Milvus unhealthy", []),
        ("CPU usage", []),
        ("Memory usage", []),
        ("Runbook: Backend Down", []),
        ("Runbook: Ingestion Failures", []),
        ("Runbook: Search Returns Empty Results", []),
        ("Runbook: High Latency", []),
        ("Failed to connect to Neo4j", []),
        ("Neo4j out of memory", []),
        ("Milvus connection timeout", []),
        ("Collection not found", []),
        ("CUDA out of memory", []),
    ],
}


@pytest.mark.parametrize("seed", sorted(INCIDENT_SECTIONS))
def test_every_alert_or_incident_section_is_found(seeds: dict[str, Runbook], seed: str) -> None:
    rb = seeds[seed]
    found = [(s.heading, list(s.alerts)) for s in rb.sections if s.kind in ("alert", "incident")]
    for expected in INCIDENT_SECTIONS[seed]:
        assert expected in found, f"{seed}: missing section {expected}"
    bound = {a for s in rb.sections for a in s.alerts}
    assert bound == {a for _, alerts in INCIDENT_SECTIONS[seed] for a in alerts}


@pytest.mark.parametrize(
    ("seed", "heading", "severity", "normalized", "threshold"),
    [
        ("002", "High Error Rate", "Critical (P0)", "P0", ">5% error rate for 5 minutes"),
        ("002", "Service Down", "Critical (P0)", "P0", "Health check failing for 2 minutes"),
        (
            "002",
            "Database Connection Issues",
            "Critical (P0)",
            "P0",
            ">90 active connections for 5 minutes",
        ),
        ("002", "High RAG Latency", "Warning (P1)", "P1", "p95 > 5 seconds for 10 minutes"),
        ("002", "Tenant Isolation Violation", "Critical (P0)", "P0", ">0 violations"),
        ("002", "Low Availability", "Critical (P0)", "P0", "<99.9% availability for 5 minutes"),
        ("004", "Error rate", "critical", "P0", "warning >1%; critical >5%"),
        ("004", "Neo4j unhealthy", "critical", "P0", "critical >30s"),
    ],
)
def test_severity_and_threshold_fields(
    seeds: dict[str, Runbook],
    seed: str,
    heading: str,
    severity: str,
    normalized: str,
    threshold: str,
) -> None:
    section = seeds[seed].section(heading)
    assert section is not None
    assert (section.severity, section.severity_normalized, section.threshold) == (
        severity,
        normalized,
        threshold,
    )


@pytest.mark.parametrize(
    ("seed", "heading", "count", "first"),
    [
        ("002", "High Error Rate", 3, "Users experiencing 5xx errors"),
        ("002", "Circuit Breaker Open", 3, "Requests to protected service failing fast"),
        ("003", "High Error Rate (5xx Errors)", 2, "Users reporting failures"),
        ("001", "MaestroServiceDown", 1, "Maestro orchestrator pods not responding"),
        ("004", "Runbook: Backend Down", 1, "/health returns 503 or no response"),
    ],
)
def test_symptoms(
    seeds: dict[str, Runbook], seed: str, heading: str, count: int, first: str
) -> None:
    section = seeds[seed].section(heading)
    assert section is not None
    assert len(section.symptoms) == count
    assert section.symptoms[0] == first


# (seed, heading, [(phase, label), …]) — phases in document order, the document's label kept.
PHASES = [
    (
        "000",
        "2.3 Enrichment queue backlog",
        [
            ("detect", "Detect"),
            ("investigate", "Triage"),
            ("mitigate", "Mitigate"),
            ("validate", "Validate"),
            ("postmortem", "Postmortem"),
        ],
    ),
    (
        "000",
        "2.4 Hot tenant quota/abuse",
        [
            ("detect", "Detect"),
            ("investigate", "Triage"),
            ("mitigate", "Mitigate"),
            ("validate", "Validate"),
        ],
    ),
    (
        "001",
        "MaestroServiceDown",
        [
            ("detect", "Impact"),
            ("mitigate", "Immediate Actions"),
            ("investigate", "Diagnosis Steps"),
            ("mitigate", "Resolution Steps"),
            ("postmortem", "Prevention"),
        ],
    ),
    (
        "001",
        "SecurityEventSpike",
        [
            ("detect", "Impact"),
            ("mitigate", "Immediate Actions"),
            ("investigate", "Diagnosis Steps"),
            ("escalate", "Escalation"),
        ],
    ),
    (
        "002",
        "High Error Rate",
        [
            ("investigate", "Investigation Steps"),
            ("mitigate", "Remediation"),
            ("escalate", "Escalation"),
        ],
    ),
    (
        "002",
        "Database Connection Issues",
        [
            ("investigate", "Investigation Steps"),
            ("mitigate", "Remediation"),
            ("postmortem", "Prevention"),
            ("escalate", "Escalation"),
        ],
    ),
    (
        "003",
        "Pod/Container Crash Loop",
        [("investigate", "Investigation Steps"), ("mitigate", "Common Causes & Fixes")],
    ),
    (
        "003",
        "Rollback Procedures",
        [("mitigate", "Kubernetes Rollback"), ("mitigate", "Docker Compose Rollback")],
    ),
    ("004", "Neo4j out of memory", [("mitigate", "Solutions")]),
]


@pytest.mark.parametrize(("seed", "heading", "phases"), PHASES)
def test_phases(
    seeds: dict[str, Runbook], seed: str, heading: str, phases: list[tuple[str, str]]
) -> None:
    section = seeds[seed].section(heading)
    assert section is not None
    assert [(p.phase, p.label) for p in section.phases] == phases


def _fences(text: str) -> list[tuple[int, int]]:
    """(first content line, last content line) of every fenced block, found by a plain scan."""
    out: list[tuple[int, int]] = []
    opened: tuple[int, str] | None = None
    for n, line in enumerate(text.split("\n"), start=1):
        m = re.match(r"^\s*(```|~~~)", line)
        if not m:
            continue
        if opened is None:
            opened = (n, m.group(1))
        elif m.group(1) == opened[1] and not line.strip()[3:].strip():
            out.append((opened[0] + 1, n - 1))
            opened = None
    return out


@pytest.mark.parametrize("seed", ["000", "001", "002", "003", "004"])
def test_every_code_block_becomes_steps(
    seeds: dict[str, Runbook], seed_texts: dict[str, str], seed: str
) -> None:
    step_lines = [st.line for st in steps_of(seeds[seed])]
    fences = _fences(seed_texts[seed])
    assert fences
    for first, last in fences:
        assert any(first <= line <= last for line in step_lines), (
            f"{seed}: no step for the code block at lines {first}-{last}"
        )


# (seed, line, kind, inner_kind, safety) — what a careful engineer says about each command.
COMMANDS = [
    # 000: smoke, kubectl, redis, cypher, psql and the erasure snippets
    ("000", 68, "shell", None, "mutating"),  # helm rollback <release> <rev>
    ("000", 248, "http", None, "mutating"),  # curl -X POST … stream
    ("000", 254, "http", None, "read-only"),  # curl GET … sse
    ("000", 260, "shell", None, "unknown"),  # k6 run script
    ("000", 270, "kubectl", None, "read-only"),  # kubectl get pods
    ("000", 271, "shell", None, "read-only"),  # stern (log tailing)
    ("000", 272, "kubectl", None, "read-only"),  # rollout status
    ("000", 273, "kubectl", None, "mutating"),  # rollout undo
    ("000", 279, "redis", None, "read-only"),  # redis-cli INFO
    ("000", 280, "redis", None, "read-only"),  # redis-cli KEYS
    ("000", 286, "cypher", None, "read-only"),  # cypher-shell MATCH … RETURN
    ("000", 292, "sql", None, "read-only"),  # psql -c SELECT
    ("000", 304, "cypher", None, "destructive"),  # DETACH DELETE
    ("000", 311, "sql", None, "destructive"),  # DELETE FROM
    ("000", 317, "cypher", None, "mutating"),  # CREATE CONSTRAINT
    ("000", 321, "cypher", None, "mutating"),  # CREATE VECTOR INDEX (multi-line)
    # 001: kubectl blocks, exec wrappers, a PromQL query through curl
    ("001", 72, "kubectl", None, "read-only"),
    ("001", 81, "kubectl", None, "read-only"),  # kubectl top
    ("001", 93, "kubectl", None, "mutating"),  # rollout restart
    ("001", 98, "kubectl", None, "mutating"),  # scale --replicas=5
    ("001", 103, "kubectl", None, "mutating"),  # rollout undo
    ("001", 126, "kubectl", "http", "read-only"),  # exec -- \ curl (continuation)
    ("001", 139, "kubectl", None, "mutating"),  # restart statefulset
    ("001", 145, "kubectl", None, "read-only"),  # describe pvc
    ("001", 150, "kubectl", None, "mutating"),  # patch (continuation)
    ("001", 162, "kubectl", "http", "read-only"),  # exec -- curl | grep
    ("001", 192, "http", "promql", "read-only"),  # curl Prometheus query API
    ("001", 223, "text", None, "read-only"),  # status page template
    # 002: PromQL, SQL, bash, TypeScript
    ("002", 30, "promql", None, "read-only"),
    ("002", 46, "shell", None, "read-only"),  # tail -f | grep
    ("002", 84, "http", None, "read-only"),
    ("002", 106, "sql", None, "read-only"),  # psql -c "SELECT 1;"
    ("002", 115, "redis", None, "read-only"),  # redis-cli ping
    ("002", 122, "http", None, "read-only"),  # inline curl in a list item
    ("002", 168, "typescript", None, "read-only"),
    ("002", 207, "sql", None, "read-only"),
    ("002", 212, "sql", None, "read-only"),  # multi-line SELECT
    ("002", 227, "sql", None, "destructive"),  # pg_terminate_backend
    ("002", 270, "promql", None, "read-only"),  # topk
    ("002", 369, "sql", None, "mutating"),  # CREATE POLICY (DDL)
    ("002", 397, "promql", None, "read-only"),
    ("002", 400, "promql", None, "read-only"),  # second query of the same block
    ("002", 406, "sql", None, "read-only"),
    ("002", 565, "text", None, "read-only"),  # untagged status template
    # 003: docker compose, docker exec wrappers, kubectl, restore
    ("003", 68, "docker", None, "read-only"),  # docker-compose logs
    ("003", 77, "docker", "shell", "read-only"),  # docker exec … pg_isready
    ("003", 80, "docker", "redis", "read-only"),  # docker exec … redis-cli ping
    ("003", 88, "docker", None, "mutating"),  # docker-compose restart postgres
    ("003", 123, "docker", "sql", "read-only"),  # psql -c with multi-line SELECT
    ("003", 131, "docker", "redis", "read-only"),  # redis-cli --latency
    ("003", 141, "kubectl", None, "mutating"),  # scale
    ("003", 151, "docker", "redis", "destructive"),  # inline FLUSHDB
    ("003", 169, "kubectl", None, "read-only"),  # describe pod <pod-name>
    ("003", 182, "kubectl", None, "read-only"),  # inline kubectl get secrets
    ("003", 196, "docker", None, "mutating"),  # docker pull
    ("003", 222, "docker", "sql", "read-only"),  # SHOW max_connections
    ("003", 247, "shell", None, "read-only"),  # df -h
    ("003", 250, "docker", None, "read-only"),  # docker system df
    ("003", 262, "docker", None, "destructive"),  # docker system prune -a --volumes
    ("003", 265, "shell", None, "destructive"),  # find … -delete
    ("003", 285, "kubectl", None, "mutating"),
    ("003", 301, "docker", None, "mutating"),  # docker-compose down (no volumes)
    ("003", 308, "docker", None, "mutating"),  # up -d
    ("003", 312, "http", None, "read-only"),
    ("003", 408, "docker", "sql", "unknown"),  # interactive psql
    ("003", 411, "docker", "shell", "mutating"),  # pg_dump > file
    ("003", 414, "docker", "sql", "destructive"),  # psql < backup.sql (restore)
    # 004: nerdctl compose, python, cypher in a bash block, neo4j-admin, tar, find
    ("004", 21, "python", None, "read-only"),  # python3 -c get_settings()
    ("004", 40, "docker", None, "mutating"),  # nerdctl compose up -d
    ("004", 43, "docker", None, "read-only"),  # nerdctl compose ps
    ("004", 49, "shell", None, "mutating"),  # uvicorn starts a server
    ("004", 70, "docker", None, "mutating"),  # compose down backend
    ("004", 107, "text", None, "read-only"),  # expected JSON output
    ("004", 127, "docker", None, "read-only"),  # docker logs | jq
    ("004", 173, "docker", None, "mutating"),  # compose restart backend
    ("004", 209, "shell", None, "mutating"),  # export LLM_MODEL=mock changes the session
    ("004", 220, "cypher", None, "read-only"),  # MATCH in a bash block
    ("004", 230, "python", None, "read-only"),  # list_collections()
    ("004", 252, "docker", None, "read-only"),  # inline docker logs | grep
    ("004", 281, "cypher", None, "unknown"),  # interactive cypher-shell
    ("004", 292, "docker", "cypher", "destructive"),  # MATCH (n) DETACH DELETE n
    ("004", 312, "docker", None, "mutating"),  # compose restart etcd minio …
    ("004", 319, "python", None, "mutating"),  # create_collection()
    ("004", 336, "shell", None, "read-only"),  # nvidia-smi
    ("004", 363, "shell", None, "mutating"),  # celery worker
    ("004", 371, "yaml", None, "read-only"),
    ("004", 429, "shell", None, "mutating"),  # chmod
    ("004", 435, "shell", None, "mutating"),  # export X=$(vault kv get …): changes the session
    ("004", 447, "docker", "shell", "mutating"),  # neo4j-admin dump writes a file
    ("004", 451, "docker", "shell", "destructive"),  # load --overwrite-destination=true
    ("004", 459, "shell", None, "mutating"),  # tar -czf
    ("004", 462, "shell", None, "destructive"),  # tar -xzf restore
    ("004", 484, "shell", None, "destructive"),  # find -exec rm -rf
]


@pytest.mark.parametrize(("seed", "line", "kind", "inner", "safety"), COMMANDS)
def test_command_kind_and_safety(
    seeds: dict[str, Runbook], seed: str, line: int, kind: str, inner: str | None, safety: str
) -> None:
    at_line = [st for st in steps_of(seeds[seed]) if st.line == line]
    assert at_line, f"{seed}: no step at line {line}"
    assert any((st.kind, st.inner_kind, st.safety) == (kind, inner, safety) for st in at_line), [
        (st.kind, st.inner_kind, st.safety, st.text) for st in at_line
    ]
    for st in at_line:
        assert st.reason
        assert st.executable is (
            st.kind not in ("typescript", "yaml", "json", "config", "ruby", "text")
        )


@pytest.mark.parametrize(
    ("seed", "line", "title"),
    [
        ("001", 72, "Check pod status"),  # comment line before the command
        ("001", 93, "Quick Fix: Restart deployment if resource issue"),  # list item holding a fence
        ("002", 30, "Check error distribution by endpoint"),
        ("002", 227, "Kill long-running queries (carefully!)"),
        ("003", 182, "Check secrets exist"),  # text before an inline command
        ("004", 70, "2. Stop new version"),  # last of several comment lines
    ],
)
def test_step_titles(seeds: dict[str, Runbook], seed: str, line: int, title: str) -> None:
    assert title in [st.title for st in steps_of(seeds[seed]) if st.line == line]


def test_variables_of_seed_steps(seeds: dict[str, Runbook]) -> None:
    by_line = {st.line: st for st in steps_of(seeds["000"])}
    assert by_line[286].variables == ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD")
    assert by_line[248].variables == ("API_BASE", "TOKEN")
    assert by_line[304].variables == ("userId",)  # a Cypher parameter
    assert by_line[311].variables == ()  # $1 is positional, not a variable
    helm = [st for st in steps_of(seeds["000"]) if st.line == 68 and st.text.startswith("helm")]
    assert helm[0].variables == ("release", "rev")
    backup = {st.line: st for st in steps_of(seeds["004"])}
    assert backup[477].variables == ()  # DATE is set by the script itself


def test_lint_flags_unwarned_destructive_steps_in_seeds(seeds: dict[str, Runbook]) -> None:
    flagged = {
        (f.path[-6:-3], f.line)
        for f in lint(seeds.values())
        if f.code == "destructive-without-warning"
    }
    assert {
        ("000", 304),
        ("000", 311),
        ("003", 151),
        ("003", 262),
        ("003", 265),
        ("003", 414),
        ("004", 451),
        ("004", 462),
        ("004", 484),
    } <= flagged
    assert ("002", 227) not in flagged  # "(carefully!)" is a warning
    assert ("004", 292) not in flagged  # "(CAUTION: deletes all)"


def test_seed_section_ids_are_github_anchors(seeds: dict[str, Runbook]) -> None:
    ids = {s.heading: s.id for s in seeds["002"].sections}
    assert ids["High Error Rate"] == "high-error-rate"
    assert ids["Auth Attack / Suspicious Activity"] == "auth-attack--suspicious-activity"
    for rb in seeds.values():
        assert len({s.id for s in rb.sections}) == len(rb.sections)
