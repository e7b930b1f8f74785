"""Table-driven: runbook command lines → what the executors send (no I/O)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from opsbook.executors import ExecContext, resolve
from opsbook.executors.common import Unsupported, first_command
from opsbook.executors.cypher import bind_cypher, parse_cypher_shell
from opsbook.executors.http_args import parse_http_command
from opsbook.executors.postgres import libpq_url, parse_psql
from opsbook.executors.redis import parse_redis_cli
from opsbook.executors.sql_bind import bind_sql
from opsbook.runbooks.classify import classify
from opsbook.runbooks.models import Step
from opsbook.runbooks.variables import find_variables

CTX = ExecContext(
    variables={"API_BASE": "http://api:8000", "REDIS_URL": "redis://r:6379/0", "ID": "x'; DROP TABLE t; --",
               "N": "42", "COL": "state", "pod-name": "web-1", "DATABASE_URL": "postgresql://u@db/app"},
    secrets={"TOKEN": SecretStr("s3cr3t"), "NEO4J_PASSWORD": SecretStr("pw")},
)  # fmt: skip


def step(text: str, fence: str | None = None) -> Step:
    c = classify(text, fence)
    return Step(
        1,
        "t",
        text,
        c.executable,
        c.kind,
        c.inner_kind,
        c.safety,
        c.reason,
        tuple(find_variables(text)),
    )


def words(text: str) -> list[str]:
    command, _ = first_command(resolve(step(text), CTX))
    return command.words


@pytest.mark.parametrize(
    ("text", "method", "url", "headers", "body", "flags"),
    [
        ('curl -s "$API_BASE/health"', "GET", "http://api:8000/health", [], None, {}),
        ("curl -sfL api:8000/x", "GET", "http://api:8000/x", [], None, {"fail": True, "follow": True}),
        ("curl -X DELETE $API_BASE/k", "DELETE", "http://api:8000/k", [], None, {}),
        ("curl -d 'a=1' -d b=2 $API_BASE", "POST", "http://api:8000",
         [("Content-Type", "application/x-www-form-urlencoded")], b"a=1&b=2", {}),
        ("curl -G -d q=up $API_BASE/q", "GET", "http://api:8000/q?q=up", [], None, {}),
        ("curl -I $API_BASE", "HEAD", "http://api:8000", [], None, {}),
        ('curl -N -H "Authorization: Bearer $TOKEN" $API_BASE/sse', "GET", "http://api:8000/sse",
         [("Authorization", "Bearer s3cr3t")], None, {"stream": True}),
        ("curl --json '{\"a\":1}' $API_BASE", "POST", "http://api:8000",
         [("Content-Type", "application/json"), ("Accept", "application/json")], b'{"a":1}', {}),
        ("curl -vk -m 5 -u admin:$TOKEN $API_BASE", "GET", "http://api:8000", [], None,
         {"verbose": True, "verify": False, "max_time": 5.0, "auth": ("admin", "s3cr3t")}),
        ("wget -qO- $API_BASE/health", "GET", "http://api:8000/health", [], None, {}),
        ("http POST $API_BASE/x name=a n:=1 X-Y:z", "POST", "http://api:8000/x",
         [("X-Y", "z"), ("Content-Type", "application/json")], b'{"name": "a", "n": 1}', {}),
    ],
)  # fmt: skip
def test_http_clients(text, method, url, headers, body, flags) -> None:  # type: ignore[no-untyped-def]
    req = parse_http_command(words(text))
    assert (req.method, req.url, req.headers, req.body) == (method, url, headers, body)
    for key, value in flags.items():
        assert getattr(req, key) == value


@pytest.mark.parametrize("text", ["curl -o out.json http://a/x", "curl -d @body.json http://a", "wget http://a/x",
                                  "curl -x http://proxy http://a"])  # fmt: skip
def test_http_refuses_files_and_proxies(text: str) -> None:
    with pytest.raises(Unsupported):
        parse_http_command(words(text))


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("redis-cli -u $REDIS_URL ping", {"url": "redis://r:6379/0", "args": ["ping"]}),
        ("redis-cli -h h -p 7000 -n 2 -a $TOKEN INFO memory",
         {"host": "h", "port": 7000, "db": 2, "password": "s3cr3t", "args": ["INFO", "memory"]}),
        ("redis-cli --latency -h h", {"mode": "latency", "args": []}),
        ("redis-cli --scan --pattern 'rl:*'", {"mode": "scan", "pattern": "rl:*"}),
        ("redis-cli -u $REDIS_URL KEYS 'rl:assistant:*'", {"args": ["KEYS", "rl:assistant:*"]}),
    ],
)  # fmt: skip
def test_redis_cli(text: str, expect: dict[str, object]) -> None:
    call = parse_redis_cli(words(text))
    for key, value in expect.items():
        assert getattr(call, key) == value


def test_redis_cli_refuses_unbounded_modes() -> None:
    for text in ("redis-cli --bigkeys", "redis-cli --stat", "redis-cli monitor --pipe"):
        with pytest.raises(Unsupported):
            parse_redis_cli(words(text))


@pytest.mark.parametrize(
    ("text", "conninfo", "params", "sql"),
    [
        ('psql "$DATABASE_URL" -c "SELECT 1;"', "postgresql://u@db/app", {}, ["SELECT 1;"]),
        ("psql -h db -p 5433 -U app -d prod -c 'SELECT 2'", None,
         {"host": "db", "port": "5433", "user": "app", "dbname": "prod"}, ["SELECT 2"]),
        ("psql -U rag7user -d rag7_prod -tA -c 'SELECT 3'", None, {"user": "rag7user", "dbname": "rag7_prod"},
         ["SELECT 3"]),
    ],
)  # fmt: skip
def test_psql(text: str, conninfo: str | None, params: dict[str, str], sql: list[str]) -> None:
    command, _ = first_command(resolve(step(text), CTX))
    call = parse_psql(command)
    assert (call.conninfo, call.params, call.sql) == (conninfo, params, sql)


def test_psql_refuses_files_and_sessions() -> None:
    for text in ("psql -f fix.sql", "psql $DATABASE_URL"):
        with pytest.raises(Unsupported):
            parse_psql(first_command(resolve(step(text), CTX))[0])
    assert libpq_url("postgresql+psycopg://u:p@h:5/d") == "postgresql://u:p@h:5/d"


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM t WHERE id = '$ID'", [("SELECT * FROM t WHERE id = %s", ["x'; DROP TABLE t; --"])]),
        ("SELECT $COL FROM t WHERE n > $N", [("SELECT state FROM t WHERE n > 42", [])]),
        ("SELECT 1; SELECT ';' AS semi", [("SELECT 1", []), ("SELECT ';' AS semi", [])]),
        ("SELECT * FROM t WHERE a LIKE 'x%' AND id = '$ID'",
         [("SELECT * FROM t WHERE a LIKE 'x%%' AND id = %s", ["x'; DROP TABLE t; --"])]),
        ("DELETE FROM t WHERE user_id = $1;", [("DELETE FROM t WHERE user_id = $1", [])]),
    ],
)  # fmt: skip
def test_sql_binding(sql: str, expected: list[tuple[str, list[str]]]) -> None:
    assert (
        bind_sql(resolve(step(sql, "sql"), CTX).template, resolve(step(sql, "sql"), CTX))
        == expected
    )


def test_bare_non_identifier_value_is_bound_not_spliced() -> None:
    ctx = ExecContext(variables={"N": "1 OR 1=1"})
    r = resolve(step("SELECT * FROM t WHERE n = $N", "sql"), ctx)
    assert bind_sql(r.template, r) == [("SELECT * FROM t WHERE n = %s", ["1 OR 1=1"])]


def test_cypher_shell_and_parameters() -> None:
    text = "cypher-shell -a bolt://g:7687 -u neo4j -p $NEO4J_PASSWORD \"MATCH (u:User {id:'$ID'}) RETURN u LIMIT $N;\""
    r = resolve(step(text), CTX)
    call = parse_cypher_shell(first_command(r)[0])
    assert (call.uri, call.user, call.password) == ("bolt://g:7687", "neo4j", "pw")
    assert bind_cypher(call.queries[0], r) == [
        ("MATCH (u:User {id:$v0}) RETURN u LIMIT 42", {"v0": CTX.variables["ID"]})
    ]
    r = resolve(
        step("MATCH (u:User {id:$userId}) RETURN u", "cypher"),
        ExecContext(variables={"userId": "a'b"}),
    )
    assert bind_cypher(r.template, r) == [("MATCH (u:User {id:$v0}) RETURN u", {"v0": "a'b"})]
