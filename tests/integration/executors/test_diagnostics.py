"""The seed runbooks' diagnostics really run against real services and show real values."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
import pytest
import redis as redis_lib
from pydantic import SecretStr

from opsbook.executors import ChartBlock, ExecContext, TableBlock, check_http, execute
from opsbook.runbooks.models import Step
from tests.support.services import MetricExporter

pytestmark = pytest.mark.xdist_group("executors")

MakeStep = Callable[..., Step]
LOCAL = frozenset({"127.0.0.1"})
"""The test services listen on loopback: a service's config names that host to reach it."""


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def test_curl_health_endpoint_shows_status_and_json(health_app, make_step: MakeStep) -> None:
    step = make_step('curl -s "$API_BASE/health"')
    res = execute(step, ExecContext(variables={"API_BASE": health_app.url}))
    assert res.status == "ok", res.summary
    assert "200 OK" in res.summary
    body = next(b for b in res.blocks if b.kind == "code")
    assert '"neo4j": "healthy"' in body.text
    assert res.command == f'curl -s "{health_app.url}/health"'


def test_curl_post_with_headers_body_and_basic_auth(health_app, make_step: MakeStep) -> None:
    step = make_step(
        """curl -X POST "$API_BASE/api" -H "Authorization: Bearer $TOKEN" -d '{"input":"x"}'"""
    )
    ctx = ExecContext(
        variables={"API_BASE": health_app.url}, secrets={"TOKEN": SecretStr("tkn-123")}
    )
    res = execute(step, ctx)
    assert res.status == "ok"
    seen = health_app.requests[-1]
    assert seen["method"] == "POST" and seen["body"] == '{"input":"x"}'
    assert seen["headers"]["Authorization"] == "Bearer tkn-123"
    assert "tkn-123" not in str(res.to_dict())


def test_curl_fail_flag_turns_5xx_into_a_retryable_failure(health_app, make_step: MakeStep) -> None:
    res = execute(make_step(f"curl -sf {health_app.url}/down"), ExecContext(allowed_hosts=LOCAL))
    assert res.status == "failed" and res.retryable and "503" in res.summary
    res = execute(make_step(f"curl -s {health_app.url}/down"), ExecContext(allowed_hosts=LOCAL))
    assert res.status == "ok" and "503" in res.summary  # like curl: no -f, no failure


def test_wget_and_httpie_are_translated(health_app, make_step: MakeStep) -> None:
    ctx = ExecContext(allowed_hosts=LOCAL)
    assert execute(make_step(f"wget -qO- {health_app.url}/health"), ctx).status == "ok"
    res = execute(make_step(f"http POST {health_app.url}/api name=x"), ctx)
    assert res.status == "ok"
    assert health_app.requests[-1]["body"] == '{"name": "x"}'


def test_streaming_is_capped_and_redirects_are_followed(health_app, make_step: MakeStep) -> None:
    start = time.monotonic()
    res = execute(
        make_step(f"curl -N {health_app.url}/stream"),
        ExecContext(output_limit=2000, timeout=5, allowed_hosts=LOCAL),
    )
    assert res.status == "ok" and time.monotonic() - start < 4
    body = next(b for b in res.blocks if b.kind == "code")
    assert body.text.startswith("data: tick 0") and "body cut at 2000 bytes" in body.text
    res = execute(
        make_step(f"curl -sL {health_app.url}/redirect?to=/health"),
        ExecContext(allowed_hosts=LOCAL),
    )
    assert res.status == "ok" and "200 OK" in res.summary
    assert "redirect 302 → /health" in res.blocks[0].text  # type: ignore[union-attr]


def test_check_http_asserts_status_latency_and_json_path(health_app) -> None:
    ok = check_http(
        f"{health_app.url}/health",
        expect_status=200,
        max_latency_ms=2000,
        json_path_equals={"services.neo4j": "healthy"},
        body_contains="ok",
        ctx=ExecContext(allowed_hosts=LOCAL),
    )
    assert ok.status == "ok", ok.summary
    bad = check_http(
        f"{health_app.url}/down",
        json_path_equals={"services.neo4j": "healthy"},
        ctx=ExecContext(allowed_hosts=LOCAL),
    )
    assert bad.status == "failed" and bad.retryable
    assert "status 503" in bad.summary and "services.neo4j is 'unreachable'" in bad.summary


def test_connection_refused_is_a_retryable_error(make_step: MakeStep) -> None:
    res = execute(
        make_step("curl -s http://127.0.0.1:9/health"), ExecContext(timeout=3, allowed_hosts=LOCAL)
    )
    assert res.status == "error" and res.retryable and "cannot connect" in res.summary


def test_redis_ping_and_info_memory(redis_server, make_step: MakeStep) -> None:
    ctx = ExecContext(variables={"REDIS_URL": redis_server.url})
    ping = execute(make_step("redis-cli -u $REDIS_URL ping"), ctx)
    assert ping.status == "ok" and ping.summary == "PONG"
    info = execute(make_step("redis-cli -u $REDIS_URL INFO memory"), ctx)
    assert info.status == "ok" and "used_memory_human=" in info.summary
    table = info.blocks[0]
    assert isinstance(table, TableBlock)
    assert any(row[0] == "used_memory" and int(row[1]) > 0 for row in table.rows)


def test_redis_host_port_db_form_and_latency(redis_server, make_step: MakeStep) -> None:
    client = redis_lib.Redis.from_url(redis_server.url_for(3))
    client.set("opsbook:k", "v1")
    res = execute(
        make_step(f"redis-cli -h 127.0.0.1 -p {redis_server.port} -n 3 GET opsbook:k"),
        ExecContext(allowed_hosts=LOCAL),
    )
    assert res.status == "ok" and res.summary == "v1"
    lat = execute(
        make_step(f"redis-cli -h 127.0.0.1 -p {redis_server.port} --latency"),
        ExecContext(timeout=1, allowed_hosts=LOCAL),
    )
    assert lat.status == "ok" and "avg" in lat.summary and lat.duration_ms < 3000
    bad = execute(
        make_step(f"redis-cli -h 127.0.0.1 -p {redis_server.port} NOSUCHCMD"),
        ExecContext(allowed_hosts=LOCAL),
    )
    assert bad.status == "failed" and not bad.retryable


def test_postgres_pool_count_and_long_running_queries(postgres_db, make_step: MakeStep) -> None:
    url = libpq(postgres_db)
    ctx = ExecContext(variables={"DATABASE_URL": postgres_db})
    count = execute(
        make_step('psql $DATABASE_URL -c "SELECT count(*) FROM pg_stat_activity;"'), ctx
    )
    assert count.status == "ok" and count.summary.startswith("count = ")
    assert int(count.summary.split("= ")[1]) >= 1

    def sleeper() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT pg_sleep(2.5)")

    t = threading.Thread(target=sleeper)
    t.start()
    try:
        time.sleep(1.2)
        sql = (
            "SELECT pid, now() - query_start AS duration, query\n"
            "FROM pg_stat_activity\n"
            "WHERE state = 'active' AND now() - query_start > interval '1 second'\n"
            "ORDER BY duration DESC;"
        )
        res = execute(make_step(sql, "sql"), ctx)
    finally:
        t.join()
    assert res.status == "ok", res.summary
    table = res.blocks[0]
    assert isinstance(table, TableBlock) and table.columns == ["pid", "duration", "query"]
    assert any("pg_sleep" in row[2] for row in table.rows)


def test_postgres_read_only_step_that_writes_fails_safely(postgres_db, make_step: MakeStep) -> None:
    url = libpq(postgres_db)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int)")
    ctx = ExecContext(variables={"DATABASE_URL": url})
    res = execute(make_step("INSERT INTO t VALUES (1);", "sql", safety="read-only"), ctx)
    assert res.status == "failed" and "read-only" in res.summary
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
    bad = execute(make_step("SELECT nosuchcolumn FROM t;", "sql"), ctx)
    assert bad.status == "failed" and not bad.retryable and "nosuchcolumn" in bad.summary
    slow = execute(
        make_step("SELECT pg_sleep(5);", "sql"),
        ExecContext(variables={"DATABASE_URL": url}, timeout=0.5),
    )
    assert slow.status == "timeout" and slow.retryable


def test_promql_error_rate_instant_and_range(prometheus_factory, make_step: MakeStep) -> None:
    exporter = MetricExporter({"http_requests_total": 200, "http_errors_total": 10})
    exporter.start()
    try:
        prom = prometheus_factory(targets=[exporter.target])
        deadline = time.monotonic() + 15
        while not prom.query("http_requests_total") and time.monotonic() < deadline:
            time.sleep(0.2)
        ctx = ExecContext(variables={"PROMETHEUS_URL": prom.url})
        res = execute(make_step("sum(http_errors_total) / sum(http_requests_total)", "promql"), ctx)
        assert res.status == "ok", res.summary
        assert res.summary.endswith("= 0.05")
        time.sleep(1.5)
        ranged = make_step("# range=1m step=1s\nhttp_errors_total", "promql")
        res = execute(ranged, ctx)
        assert res.status == "ok", res.summary
        chart = next(b for b in res.blocks if isinstance(b, ChartBlock))
        assert chart.series and all(p[1] == 10.0 for p in chart.series[0]["points"])
        bad = execute(make_step("sum(", "promql"), ctx)
        assert bad.status == "failed" and not bad.retryable
    finally:
        exporter.close()


def test_cypher_count_on_falkordb(falkordb_server, make_step: MakeStep) -> None:
    from falkordb import FalkorDB

    db = FalkorDB(host="127.0.0.1", port=falkordb_server.port)
    db.select_graph("diag").query("CREATE (:User {id:'u1'}), (:User {id:'u2'}), (:Request)")
    ctx = ExecContext(variables={"FALKORDB_URL": f"{falkordb_server.url}/diag"})
    res = execute(make_step("MATCH (n) RETURN count(n) AS nodes;", "cypher"), ctx)
    assert res.status == "ok" and res.summary == "nodes = 3"
    shell = make_step(
        'cypher-shell -a $NEO4J_URI -u $NEO4J_USER -p $NEO4J_PASSWORD "MATCH (u:User) RETURN u.id ORDER BY u.id"'
    )
    ctx = ExecContext(
        variables={"NEO4J_URI": f"{falkordb_server.url}/diag", "NEO4J_USER": "neo4j"},
        secrets={"NEO4J_PASSWORD": SecretStr("")},
    )
    res = execute(shell, ctx)
    assert res.status == "ok", res.summary
    assert isinstance(res.blocks[0], TableBlock) and res.blocks[0].rows == [["u1"], ["u2"]]
    write = execute(
        make_step("CREATE (:X)", "cypher", safety="read-only"),
        ExecContext(variables={"FALKORDB_URL": f"{falkordb_server.url}/diag"}),
    )
    assert write.status == "failed" and "read-only" in write.summary


def test_missing_binary_and_kubectl_context(make_step: MakeStep) -> None:
    # programs are looked up on the step PATH of the server's settings, not the server's PATH
    res = execute(make_step("kubectl get pods -n prod"), ExecContext(step_path="/nonexistent"))
    assert res.status == "unavailable"
    assert (
        res.summary == "kubectl is not installed on this host; install it or run this step by hand"
    )


def test_credentials_are_not_sent_to_another_host_on_redirect(
    health_app, make_step: MakeStep
) -> None:
    other = health_app.url.replace("127.0.0.1", "localhost")
    text = f'curl -sL -H "Authorization: Bearer $TOKEN" "{health_app.url}/redirect?to={other}/echo"'
    ctx = ExecContext(
        secrets={"TOKEN": SecretStr("tkn")}, allowed_hosts=frozenset({"127.0.0.1", "localhost"})
    )
    res = execute(make_step(text), ctx)
    assert res.status == "ok", res.summary
    assert health_app.requests[-2]["headers"].get("Authorization") == "Bearer tkn"
    assert "Authorization" not in health_app.requests[-1]["headers"]


def test_a_body_that_never_ends_times_out_without_n(health_app, make_step: MakeStep) -> None:
    start = time.monotonic()
    res = execute(
        make_step(f"curl -s {health_app.url}/stream"), ExecContext(timeout=1, allowed_hosts=LOCAL)
    )
    assert res.status == "timeout" and res.retryable and time.monotonic() - start < 3


def test_kubectl_gets_context_and_namespace(tmp_path, make_step: MakeStep) -> None:
    fake = tmp_path / "kubectl"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n')
    fake.chmod(0o755)
    ctx = ExecContext(
        kube_context="staging", namespace="shop", step_path=f"{tmp_path}:/usr/bin:/bin"
    )
    res = execute(make_step("kubectl get pods -l app=web"), ctx)
    assert res.status == "ok"
    assert res.blocks[0].text.split("\n") == [
        "--context",
        "staging",
        "--namespace",
        "shop",
        "get",
        "pods",
        "-l",
        "app=web",
    ]  # type: ignore[union-attr]
    res = execute(make_step("kubectl -n other get pods"), ctx)
    assert "shop" not in res.blocks[0].text  # type: ignore[union-attr]


def test_execute_is_thread_safe(redis_server, health_app, make_step: MakeStep) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ctx = ExecContext(
        variables={"REDIS_URL": redis_server.url, "API_BASE": health_app.url, "WHO": "x"}
    )
    steps = [
        make_step("redis-cli -u $REDIS_URL ping"),
        make_step('curl -s "$API_BASE/health"'),
        make_step("echo $WHO"),
    ] * 8
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda s: execute(s, ctx), steps))
    assert [r.status for r in results] == ["ok"] * len(steps)
    assert {r.summary for r in results[2::3]} == {"x"}
