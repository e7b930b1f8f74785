"""The `opsbook` command as people and scripts use it, against a live ``opsbook serve``.

Every command here runs as a real subprocess (``.venv/bin/opsbook``) with its environment, and
its exit code, stdout and stderr are what is checked — except the per-command ``--help`` sweep,
which walks the Typer app in-process so that a command added later is covered automatically
(one interpreter start costs about two seconds on a small box).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from opsbook.cli.main import app
from tests.support.server import OpsbookServer, wait_until
from tests.support.services import free_port

pytestmark = [pytest.mark.xdist_group("cli"), pytest.mark.timeout(120)]

BAD_CONFIG = """\
tenants:
  - name: acme
services:
  - name: api
    tenant: acme
    descripton: a typo in a key
routes:
  - {match: {job: api}, service: api}
severity_map: {critical: P9}
"""


@pytest.fixture(scope="module")
def srv() -> Iterator[OpsbookServer]:
    with OpsbookServer() as server:
        yield server


@pytest.fixture(scope="module")
def tokens(srv: OpsbookServer) -> dict[str, str]:
    return srv.create_tokens({
        "commander": {"tenant": "acme", "role": "commander", "name": "alice"},
        "viewer": {"tenant": "acme", "role": "viewer"},
        "globex": {"tenant": "globex", "role": "commander"},
    })  # fmt: skip


def no_traceback(*outputs: str) -> None:
    for out in outputs:
        assert "Traceback" not in out, out


def as_json(proc: Any) -> Any:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# ------------------------------------------------------------------------------------------
# config check (offline)


def test_config_check_accepts_a_valid_file(srv: OpsbookServer) -> None:
    proc = srv.cli("config", "check", str(srv.config_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{srv.config_path}: OK")
    assert "2 tenants" in proc.stdout


def test_config_check_names_file_line_and_field_of_each_problem(
    srv: OpsbookServer, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_CONFIG)
    proc = srv.cli("config", "check", str(bad))
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert f"{bad}:6: services[0].descripton: unknown key" in lines[0]
    assert lines[1].startswith(f"{bad}:9: severity_map.critical: ")
    assert "P0" in lines[1]
    no_traceback(proc.stderr)


def test_serve_refuses_an_invalid_config_with_the_same_message(
    srv: OpsbookServer, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_CONFIG)
    proc = srv.cli(
        "serve", "--config", str(bad), "--port", str(free_port()), "--host", "127.0.0.1", timeout=30
    )
    assert proc.returncode == 2
    assert f"{bad}:6: services[0].descripton: unknown key" in proc.stderr
    no_traceback(proc.stderr)


# ------------------------------------------------------------------------------------------
# tokens


def test_tokens_create_prints_only_the_token_and_it_works_as_bearer(srv: OpsbookServer) -> None:
    proc = srv.cli("tokens", "create", "--tenant", "acme", "--role", "viewer", "--name", "script")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("\n") == 1, repr(proc.stdout)  # one line, so TOKEN=$(…) works
    token = proc.stdout.strip()
    assert re.fullmatch(r"opsb_[A-Za-z0-9_-]{20,}", token), token
    assert "shown only now" in proc.stderr and token not in proc.stderr
    r = srv.get("/api/v1/incidents", token)
    assert r.status_code == 200, r.text
    assert srv.get("/api/v1/incidents", "opsb_" + "x" * 43).status_code == 401


def test_tokens_create_refuses_an_unknown_tenant(srv: OpsbookServer) -> None:
    proc = srv.cli("tokens", "create", "--tenant", "initech", "--role", "viewer")
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert "unknown tenant 'initech'" in proc.stderr and "acme" in proc.stderr
    no_traceback(proc.stderr)


def test_tokens_list_never_shows_secrets_and_revoke_locks_the_token_out(srv: OpsbookServer) -> None:
    created = srv.cli(
        "tokens", "create", "--tenant", "acme", "--integration", "grafana", check=True
    )
    secret = created.stdout.strip()
    match = re.search(r"created (tok_\w+)", created.stderr)
    assert match, created.stderr
    token_id = match.group(1)
    body = {
        "event_action": "trigger",
        "dedup_key": "cli-revoke",
        "payload": {"summary": "cli revoke probe", "severity": "warning", "source": "cli-test"},
    }
    assert srv.post("/api/v1/events", secret, json=body).status_code == 202

    listing = srv.cli("tokens", "list", "--tenant", "acme", check=True)
    row = next(line for line in listing.stdout.splitlines() if token_id in line)
    assert "grafana" in row and "intake" in row and "active" in row
    assert secret[:9] + "…" in row  # a hint to recognise it by, no more
    assert secret not in listing.stdout + listing.stderr
    assert not re.search(r"opsb_[A-Za-z0-9_-]{20,}", listing.stdout), (
        "a whole secret in `tokens list`"
    )

    revoked = srv.cli("tokens", "revoke", token_id, check=True)
    assert token_id in revoked.stdout
    # servers cache a token lookup for up to 5 s: poll, do not sleep
    wait_until(
        lambda: srv.post("/api/v1/events", secret, json=body).status_code == 401,
        15,
        interval=0.25,
        what="the revoked token refused",
    )
    listing = srv.cli("tokens", "list", "--tenant", "acme", check=True)
    row = next(line for line in listing.stdout.splitlines() if token_id in line)
    assert "revoked" in row


# ------------------------------------------------------------------------------------------
# incidents against the live server


def test_incident_lifecycle_with_json_output(srv: OpsbookServer, tokens: dict[str, str]) -> None:
    env = {"OPSBOOK_TOKEN": tokens["commander"]}
    declared = as_json(
        srv.cli(
            "incidents",
            "declare",
            "--service",
            "checkout-api",
            "--severity",
            "p1",
            "--title",
            "Checkout errors reported by customers",
            "--json",
            env=env,
        )
    )
    inc_id = declared["id"]
    assert declared["status"] == "triggered" and declared["severity"] == "P1"
    assert declared["service"] == "checkout-api"
    assert declared["timeline"][0]["actor"] == "alice"

    page = as_json(srv.cli("incidents", "list", "--open", "--json", env=env))
    assert inc_id in [i["id"] for i in page["items"]]

    shown = as_json(srv.cli("incidents", "show", inc_id, "--json", env=env))
    assert shown["title"] == "Checkout errors reported by customers"

    acked = as_json(srv.cli("incidents", "ack", inc_id, "--json", env=env))
    assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "alice"
    assert acked["acknowledgement"]["met"] is True

    resolved = as_json(
        srv.cli("incidents", "resolve", inc_id, "--note", "rolled back", "--json", env=env)
    )
    assert resolved["status"] == "resolved" and resolved["resolved_by"] == "alice"

    closed = as_json(
        srv.cli("incidents", "close", inc_id, "--reason", "false_positive", "--json", env=env)
    )
    assert closed["status"] == "closed" and closed["close_reason"] == "false_positive"
    kinds = [e["kind"] for e in closed["timeline"]]  # every change is on the timeline, in order
    assert [k for k in kinds if k in ("opened", "acknowledged", "resolved", "closed")] == [
        "opened",
        "acknowledged",
        "resolved",
        "closed",
    ], kinds
    assert all(e["actor"] == "alice" and e["at"].endswith("Z") for e in closed["timeline"])

    # the server agrees
    assert srv.incident(tokens["viewer"], inc_id)["status"] == "closed"
    # and the other tenant cannot see it
    other = srv.cli("incidents", "show", inc_id, env={"OPSBOOK_TOKEN": tokens["globex"]})
    assert other.returncode != 0 and "404" in other.stderr
    no_traceback(other.stderr)


def test_incidents_list_and_show_print_readable_tables(
    srv: OpsbookServer, tokens: dict[str, str]
) -> None:
    env = {"OPSBOOK_TOKEN": tokens["commander"]}
    declared = as_json(
        srv.cli(
            "incidents",
            "declare",
            "--service",
            "search-indexer",
            "--severity",
            "P2",
            "--title",
            "Indexer lagging",
            "--json",
            env=env,
        )
    )
    inc_id = declared["id"]

    listing = srv.cli("incidents", "list", env=env)
    assert listing.returncode == 0, listing.stderr
    header, *rows = listing.stdout.splitlines()
    assert header.split() == ["ID", "SEV", "STATUS", "SERVICE", "AGE", "ACK", "COMMANDER", "TITLE"]
    row = next(r for r in rows if r.startswith(inc_id))
    assert (
        "P2" in row and "triggered" in row and "search-indexer" in row and "Indexer lagging" in row
    )
    assert "due in" in row
    assert "{" not in listing.stdout and "\x1b[" not in listing.stdout  # no JSON, no colour codes

    shown = srv.cli("incidents", "show", inc_id, env=env)
    assert shown.returncode == 0, shown.stderr
    first = shown.stdout.splitlines()[0]
    assert first.split() == [inc_id, "P2", "TRIGGERED", "search-indexer"]
    assert "Indexer lagging" in shown.stdout and "Timeline (UTC):" in shown.stdout


def test_a_role_too_low_gets_a_clear_message(srv: OpsbookServer, tokens: dict[str, str]) -> None:
    proc = srv.cli(
        "incidents",
        "declare",
        "--service",
        "checkout-api",
        "--severity",
        "P3",
        "--title",
        "x",
        env={"OPSBOOK_TOKEN": tokens["viewer"]},
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: 403: ") and "responder" in proc.stderr
    no_traceback(proc.stderr)


# ------------------------------------------------------------------------------------------
# errors a user makes first


def test_unreachable_server_gives_a_hint_not_a_traceback(
    srv: OpsbookServer, tokens: dict[str, str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    proc = srv.cli("incidents", "list", "--url", url, env={"OPSBOOK_TOKEN": tokens["viewer"]})
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"error: cannot reach opsbook at {url}")
    assert "OPSBOOK_URL" in proc.stderr
    assert proc.stdout == ""
    no_traceback(proc.stderr)


def test_missing_token_says_how_to_get_one(srv: OpsbookServer) -> None:
    proc = srv.cli("incidents", "list")
    assert proc.returncode == 1
    assert "OPSBOOK_TOKEN" in proc.stderr and "opsbook tokens create" in proc.stderr
    assert proc.stdout == ""
    no_traceback(proc.stderr)


# ------------------------------------------------------------------------------------------
# --help everywhere


def test_top_level_help_runs_as_a_process(srv: OpsbookServer) -> None:
    proc = srv.cli("--help")
    assert proc.returncode == 0, proc.stderr
    for group in ("serve", "config", "db", "tokens", "incidents"):
        assert group in proc.stdout


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path of the app (Typer vendors click, so walk by duck typing)."""
    for name, cmd in sorted(group.commands.items()):
        yield (*prefix, name)
        if getattr(cmd, "commands", None):
            yield from _commands(cmd, (*prefix, name))


ALL_COMMANDS = list(_commands(typer.main.get_command(app)))


def test_every_command_is_covered_by_the_help_sweep() -> None:
    names = {" ".join(c) for c in ALL_COMMANDS}
    assert {
        "serve",
        "config check",
        "tokens create",
        "tokens list",
        "tokens revoke",
        "incidents list",
        "incidents show",
        "incidents ack",
        "incidents resolve",
        "incidents close",
        "incidents declare",
        "db upgrade",
    } <= names


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=" ".join)
def test_help_of_every_command_exits_0(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert " ".join(command) in result.output


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"opsbook {version('opsbook')}"


HEAVY_MODULES = (
    "sqlalchemy",
    "pydantic",
    "opsbook.config.models",
    "opsbook.executors",
    "psycopg",
    "redis",
    "neo4j",
    "apprise",
    "jinja2",
    "markdown_it",
)


def test_loading_the_cli_imports_nothing_heavy() -> None:
    """`opsbook incidents list` should start fast: the database, config models, step executors and
    notifiers load inside the commands that need them, never when the app is built."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import opsbook.cli.main"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    loaded = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    assert "opsbook.cli.main" in loaded and "typer" in loaded
    heavy = sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY_MODULES))
    assert heavy == []


def test_incidents_list_answers_without_loading_pydantic_or_httpx(
    srv: OpsbookServer, tokens: dict[str, str]
) -> None:
    """The whole `opsbook incidents list` (options parsed, request sent, table printed) stays on
    the standard library: typer's pydantic adapters and httpx cost more than the command may."""
    env = {"OPSBOOK_TOKEN": tokens["commander"]}
    srv.cli("incidents", "declare", "--service", "search-indexer", "--severity", "P3",
            "--title", "Import path probe", env=env, check=True)  # fmt: skip
    args = ["incidents", "list", "--status", "triggered", "--severity", "P3", "--limit", "5"]
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "opsbook.cli.main", *args],
        env=srv.env(OPSBOOK_URL=srv.url, **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Import path probe" in proc.stdout
    loaded = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    heavy = sorted(
        m for m in loaded if any(m == h or m.startswith(h + ".") for h in (*HEAVY_MODULES, "httpx"))
    )
    assert heavy == []

    bad = srv.cli("incidents", "list", "--limit", "many", env=env)
    assert bad.returncode == 2 and "--limit" in bad.stderr and "integer" in bad.stderr
    no_traceback(bad.stderr)


def test_help_shows_the_environment_variable_and_default_of_each_option() -> None:
    # rich markup would swallow "[env …]" as a style tag: the hints must reach the reader
    def text(*args: str) -> str:  # the help as words, whatever the terminal's width
        return " ".join(CliRunner().invoke(app, [*args, "--help"]).output.replace("│", " ").split())

    serve = text("serve")
    assert "[env OPSBOOK_HOST; default 127.0.0.1]" in serve
    assert "[env OPSBOOK_PORT; default 8080]" in serve
    listing = text("incidents", "list")
    assert "[env OPSBOOK_URL; default http://127.0.0.1:8080]" in listing
    assert "[env OPSBOOK_TOKEN]" in listing
