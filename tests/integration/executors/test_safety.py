"""Security properties of executors: injection, redaction, SSRF, process-group timeouts."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from opsbook.executors import ExecContext, TableBlock, execute
from opsbook.runbooks.models import Step

from .conftest import step_of

pytestmark = pytest.mark.xdist_group("executors")

MakeStep = Callable[..., Step]
CANARY = "c4n4ry-S3cr3t-value"

_NASTY = st.sampled_from(
    [
        "; rm -rf /",
        "$(id)",
        "`id`",
        "a'b\"c",
        "line1\nline2",
        "-n",
        "--help",
        "|cat",
        "&& x",
        "$HOME",
        "*",
        "~",
        "{{ x }}",
        "",
    ]
)
VALUES = st.one_of(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        max_size=40,
    ),
    _NASTY,
    st.lists(_NASTY, min_size=1, max_size=4).map("".join),
)


@pytest.fixture(scope="module")
def argv_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("argv") / "argv.py"
    path.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    path.chmod(0o755)
    return path


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=VALUES)
def test_shell_value_is_exactly_one_argv_element(argv_script: Path, value: str) -> None:
    step = step_of(f"{argv_script} before $VALUE after | cat")
    res = execute(step, ExecContext(variables={"VALUE": value}))
    assert res.status == "ok", res.summary
    out = next(b for b in res.blocks if b.kind == "code").text
    assert json.loads(out) == ["before", value, "after"]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=VALUES)
def test_quoted_and_placeholder_forms_stay_one_element(argv_script: Path, value: str) -> None:
    step = step_of(f'{sys.executable} {argv_script} "--name=<pod-name>" ${{VALUE}}')
    assert step.kind == "python"  # a python command line runs through the shell executor
    res = execute(step, ExecContext(variables={"VALUE": value, "pod-name": value}))
    out = next(b for b in res.blocks if b.kind == "code").text
    assert json.loads(out) == [f"--name={value}", value]


def test_sql_values_are_bound_parameters(postgres_db) -> None:
    url = postgres_db.replace("+psycopg", "")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id text, n int)")
        conn.execute("INSERT INTO t VALUES ('a', 1), ($$x'; DROP TABLE t; --$$, 2)")
    evil = "x'; DROP TABLE t; --"
    ctx = ExecContext(variables={"DATABASE_URL": url, "ID": evil, "N": "1 OR 1=1"})
    res = execute(step_of("SELECT id, n FROM t WHERE id = '$ID';", "sql"), ctx)
    assert res.status == "ok", res.summary
    table = res.blocks[0]
    assert isinstance(table, TableBlock) and table.rows == [[evil, "2"]]
    # a bare value that is not a plain number is bound too, so "1 OR 1=1" matches nothing
    res = execute(step_of('psql "$DATABASE_URL" -c "SELECT id FROM t WHERE n = $N"'), ctx)
    assert res.status == "failed"  # int column compared with the text '1 OR 1=1'
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (2,)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=VALUES)
def test_sql_literal_values_round_trip(postgres_db_url: str, value: str) -> None:
    res = execute(
        step_of("SELECT '$V' AS v;", "sql"),
        ExecContext(variables={"DATABASE_URL": postgres_db_url, "V": value}),
    )
    assert res.status == "ok", res.summary
    assert res.blocks[0].rows == [[value]]  # type: ignore[union-attr]


@pytest.fixture
def postgres_db_url(postgres_db: str) -> str:
    return postgres_db.replace("+psycopg", "")


def _secret_ctx(**variables: str) -> ExecContext:
    return ExecContext(
        variables=variables, secrets={"PASSWORD": SecretStr(CANARY), "TOKEN": SecretStr(CANARY)}
    )


def _assert_clean(res: object) -> None:
    text = json.dumps(res.to_dict())  # type: ignore[attr-defined]
    assert CANARY not in text
    assert CANARY.replace("-", "%2D") not in text


def test_canary_secret_never_appears_in_any_result(
    redis_server, postgres_db_url, health_app
) -> None:
    port = redis_server.port
    cases = [
        ("echo $TOKEN", "ok"),  # success that prints the secret
        ("sh -c 'echo $0 >&2; exit 3' $TOKEN", "failed"),  # failure that prints it on stderr
        ("sh -c 'echo $0; sleep 5' $TOKEN", "timeout"),  # prints it, then hangs
        (
            f"redis-cli -u redis://nobody:$PASSWORD@127.0.0.1:{port}/0 ping",
            "error",
        ),  # wrong user/password
        (f'curl -s "{health_app.url}/echo" -H "Authorization: Bearer $TOKEN"', "ok"),
        ("curl -s http://user:$PASSWORD@127.0.0.1:9/x", "error"),
        ('psql "postgresql://nobody:$PASSWORD@127.0.0.1:1/db" -c "SELECT 1"', "error"),
    ]
    for text, status in cases:
        res = execute(
            step_of(text),
            ExecContext(
                secrets={"PASSWORD": SecretStr(CANARY), "TOKEN": SecretStr(CANARY)},
                timeout=1,
                allowed_hosts=frozenset({"127.0.0.1"}),  # the test services are on loopback
            ),
        )
        assert res.status == status, (text, res.summary)
        _assert_clean(res)
        assert "******" in res.command


def test_ssrf_metadata_link_local_and_unlisted_hosts_are_refused(health_app) -> None:
    before = len(health_app.requests)
    refused = {
        "curl -s http://169.254.169.254/latest/meta-data/": "cloud-metadata address",
        "curl -s http://0251.0376.0251.0376/latest/meta-data/": "cloud-metadata address",
        "curl -s http://[fe80::1]/": "(a link-local address) is not allowed",
        "curl -s http://[fd00:ec2::254]/": "cloud-metadata address",
        "curl -s http://metadata.google.internal/computeMetadata/v1/": "cloud-metadata host",
        "curl -s http://[::ffff:169.254.169.254]/": "cloud-metadata address",
        f"curl -sL {health_app.url}/redirect?to=http://169.254.169.254/latest": "cloud-metadata address",
    }
    ctx = ExecContext(variables={"API_BASE": health_app.url})
    for text, why in refused.items():
        res = execute(step_of(text), ctx)
        assert (
            res.status == "failed" and res.summary.startswith("refused:") and why in res.summary
        ), text
    # the redirect's first hop reached the allowed server; nothing went further
    assert len(health_app.requests) == before + 1
    res = execute(step_of("curl -s http://example.org/"), ctx)
    assert res.status == "failed"
    assert "host example.org is not allowed" in res.summary
    assert "execution.allowed_hosts" in res.summary
    assert len(health_app.requests) == before + 1


def test_dns_answers_are_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    real = socket.getaddrinfo

    def fake(host: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if host == "innocent.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 80))]
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    res = execute(step_of("curl -s http://innocent.example/"), ExecContext())
    assert res.status == "failed" and "resolves to 169.254.169.254" in res.summary


def test_a_rebinding_name_is_pinned_to_the_judged_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS is asked once: a graph database whose name answers loopback (named in the config)
    and then a metadata address is still reached at the judged loopback address."""
    import socket

    real = socket.getaddrinfo
    answers = iter(["127.0.0.1"])

    def rebinding(host: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if host == "graph.example":
            addr = next(answers, "169.254.169.254")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (addr, 1))]
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    ctx = ExecContext(
        variables={"NEO4J_URI": "bolt://graph.example:1"},
        allowed_hosts=frozenset({"graph.example", "127.0.0.1"}),
        timeout=1,
    )
    res = execute(step_of("MATCH (n) RETURN count(n);", "cypher"), ctx)
    assert res.status == "error" and "127.0.0.1" in res.summary, res.summary
    assert "169.254" not in res.summary


def _alive(marker: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline and b"pytest" not in cmdline:
                pids.append(int(entry))
    return pids


def test_timeout_kills_the_whole_pipeline_group() -> None:
    marker = "30.4242"
    start = time.monotonic()
    res = execute(step_of(f"sleep {marker} | cat | cat"), ExecContext(timeout=1))
    assert time.monotonic() - start < 3
    assert res.status == "timeout" and res.retryable and "process group was killed" in res.summary
    time.sleep(0.2)
    assert _alive(marker) == []


def test_sequences_pipelines_and_refusals() -> None:
    ctx = ExecContext(timeout=5)
    res = execute(step_of("false && echo never"), ctx)
    assert res.status == "failed" and res.blocks == ()  # `echo never` did not run
    res = execute(step_of("false || echo fallback"), ctx)
    assert res.status == "ok" and res.summary == "fallback"
    res = execute(step_of("printf 'b\\na\\n' | sort | head -1"), ctx)
    assert res.summary == "a"
    assert execute(step_of("echo hi > /tmp/opsbook-should-not-exist"), ctx).status == "unavailable"
    assert not Path("/tmp/opsbook-should-not-exist").exists()
    assert execute(step_of("ls /nonexistent 2>&1 | cat"), ctx).summary.startswith("ls:")
    assert execute(step_of("echo $(id)"), ctx).status == "unavailable"
