"""The seed runbooks' own read-only diagnostics, parsed from the real files and run against
the suite's Redis, PostgreSQL, FalkorDB and Prometheus: they show real values."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from opsbook.executors import ExecContext, execute
from opsbook.runbooks.parse import parse_runbook

pytestmark = pytest.mark.xdist_group("executors")

WANTED = (
    "redis-cli -u $REDIS_URL ping",
    "redis-cli -u $REDIS_URL INFO",
    'psql $DATABASE_URL -c "SELECT 1;"',
    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active';",
    "SELECT pid, now() - query_start AS duration, query",
    "cypher-shell -a $NEO4J_URI",
    "rate(http_requests_total{",
)


def test_seed_diagnostics_run(
    seeds_dir: Path, redis_server, postgres_db, falkordb_server, prometheus_factory
) -> None:
    from falkordb import FalkorDB

    FalkorDB(host="127.0.0.1", port=falkordb_server.port).select_graph("seed").query(
        "CREATE (:Entity {name:'a'})"
    )
    prom = prometheus_factory()
    ctx = ExecContext(
        variables={
            "REDIS_URL": redis_server.url,
            "DATABASE_URL": postgres_db,
            "NEO4J_URI": f"{falkordb_server.url}/seed",
            "NEO4J_USER": "neo4j",
            "PROMETHEUS_URL": prom.url,
        },
        secrets={"NEO4J_PASSWORD": SecretStr("not-needed")},
    )
    ran: dict[str, str] = {}
    for path in sorted(seeds_dir.glob("*.txt")):
        for section in parse_runbook(path.read_text(), path.name).sections:
            for step in section.steps:
                if step.executable and step.safety == "read-only" and step.text.startswith(WANTED):
                    res = execute(step, ctx)
                    assert res.status == "ok", (path.name, step.text, res.summary)
                    ran[step.text.splitlines()[0]] = res.summary
    assert any(s == "PONG" for s in ran.values())
    assert any(s.startswith("count = ") for s in ran.values())
    assert any("used_memory_human" in s for s in ran.values())
    assert any(s.startswith("count(n) = ") for s in ran.values()), ran
    assert len(ran) >= 6, ran
