"""A step's process environment is an allow-list: the step PATH of the settings, LANG/LC_ALL, a
scratch HOME/TMPDIR and the variables the step names; never the server's environment, never a
loader, interpreter or shell hook, whoever set it (checked against real child processes)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsbook.core.settings import DEFAULT_STEP_PATH
from opsbook.executors import ExecContext, execute
from opsbook.executors.environment import server_pass_through

from .conftest import step_of

pytestmark = pytest.mark.xdist_group("executors")

PRINT_ENV = "python3 -I -S -c 'import os, json; print(json.dumps(dict(os.environ)))'"
BASE = {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL"}
# The spec's list, written independently of opsbook's own: loader, interpreter and shell hooks.
HOOK = re.compile(
    r"^(PATH|ENV|BASH_ENV|IFS|BROWSER|SHELLOPTS|PS4|PROMPT_COMMAND|NODE_OPTIONS|EDITOR|PAGER"
    r"|LD_\w*|DYLD_\w*|PYTHON\w*|PERL5\w*|RUBY\w*|GIT_\w*|BASH_FUNC_\w*|\w*_PROXY)$",
    re.IGNORECASE,
)
HOOKS = [
    "PATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "PYTHONWARNINGS", "PYTHONPATH",
    "PYTHONSTARTUP", "PYTHONHOME", "PERL5OPT", "PERL5LIB", "RUBYOPT", "NODE_OPTIONS", "BASH_ENV",
    "ENV", "IFS", "BROWSER", "GIT_SSH_COMMAND", "GIT_CONFIG_GLOBAL", "HTTPS_PROXY", "http_proxy",
    "ALL_PROXY", "SHELLOPTS", "PS4", "PROMPT_COMMAND", "BASH_FUNC_x__", "HOME", "TMPDIR", "LANG",
    "LC_ALL", "KUBECONFIG", "PGHOST", "DOCKER_HOST", "Path", "ld_preload",
]  # fmt: skip
TARGETS = re.compile(r"^(KUBECONFIG|DOCKER_\w+|PG\w+|REDISCLI_\w+|KUBE\w*|NEO4J_\w+)$", re.I)
SERVER_CANARY = "OPSBOOK_SERVER_ONLY_CANARY"

NAMES = st.one_of(
    st.sampled_from(HOOKS), st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
)
VALUES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)


def _child_env(text: str, ctx: ExecContext) -> dict[str, str]:
    res = execute(step_of(text), ctx)
    assert res.status == "ok", res.summary
    body = json.loads(res.blocks[0].text)  # type: ignore[union-attr]
    assert isinstance(body, dict)
    return body


@contextmanager
def _server_env(**extra: str) -> Iterator[None]:
    """Variables only the server's own process has (a canary and hostile hooks)."""
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(variables=st.dictionaries(NAMES, st.tuples(VALUES, st.booleans()), min_size=1, max_size=6))
def test_the_child_environment_is_exactly_the_allowed_set(
    variables: dict[str, tuple[str, bool]],
) -> None:
    names = list(variables)
    text = PRINT_ENV + "".join(f' "${{{n}}}"' for n in names)
    step = step_of(text)
    ctx = ExecContext(
        variables={n: v for n, (v, _) in variables.items()},
        request_variables=frozenset(n for n, (_, asked) in variables.items() if asked),
        step_path=DEFAULT_STEP_PATH,
    )
    with _server_env(**{SERVER_CANARY: "server-only", "PYTHONWARNINGS": "error"}):
        env = _child_env(text, ctx)
    operator = server_pass_through()
    named = set(step.variables)
    allowed = BASE | named | set(operator)
    assert set(env) <= allowed, set(env) - allowed
    assert SERVER_CANARY not in env
    assert env["PATH"] == DEFAULT_STEP_PATH
    assert env["LANG"] == env["LC_ALL"] == "C.UTF-8"
    assert env["HOME"] != os.environ.get("HOME") and env["TMPDIR"].startswith(env["HOME"] + "/")
    assert not Path(env["HOME"]).exists()  # the scratch HOME is removed after the run
    for name in set(env) - BASE:
        assert not HOOK.match(name), name
        if name not in operator:
            assert env[name] == variables[name][0]
            assert not (TARGETS.match(name) and variables[name][1]), name  # a request's target
    for name in named - BASE:
        value, asked = variables[name]
        if not HOOK.match(name) and not (TARGETS.match(name) and asked):
            assert env.get(name) == value, name  # every variable the step names reaches it


def test_hooks_smuggled_through_service_variables_are_inert(tmp_path: Path) -> None:
    """PATH/LD_PRELOAD/PYTHONWARNINGS/BROWSER from the config reach no process; the classic
    ``PYTHONWARNINGS=all:0:antigravity.x:0:0`` + ``BROWSER`` escape runs nothing."""
    marker = tmp_path / "pwned"
    evil_bin = tmp_path / "bin"
    evil_bin.mkdir()
    for program in ("env", "python3", "id"):
        fake = evil_bin / program
        fake.write_text(f"#!/bin/sh\ntouch {marker}\n")
        fake.chmod(0o755)
    hooks = {
        "PATH": str(evil_bin),
        "LD_PRELOAD": str(tmp_path / "x.so"),
        "PYTHONWARNINGS": "all:0:antigravity.x:0:0",
        "BROWSER": f"/bin/sh -c 'touch {marker}' %s",
        "PYTHONSTARTUP": str(tmp_path / "start.py"),
    }
    ctx = ExecContext(variables=hooks)
    text = PRINT_ENV + ' "$LD_PRELOAD" "$PYTHONWARNINGS" "$BROWSER" "$PYTHONSTARTUP"'
    env = _child_env(text, ctx)
    assert env["PATH"] == DEFAULT_STEP_PATH
    assert not {"LD_PRELOAD", "PYTHONWARNINGS", "BROWSER", "PYTHONSTARTUP"} & set(env)
    assert execute(step_of("id -u", "bash"), ctx).status == "ok"
    assert execute(step_of("env", "bash"), ctx).status == "ok"
    assert not marker.exists()
    with _server_env(PYTHONWARNINGS="all:0:antigravity.x:0:0", BROWSER=f"touch {marker}"):
        assert execute(step_of("python3 -c 'print(1)'"), ExecContext()).summary == "1"
    assert not marker.exists()


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("LD_PRELOAD=/tmp/x.so id -u", "loader, interpreter or shell"),
        ("PATH=/tmp id -u", "loader, interpreter or shell"),
        ("env PYTHONWARNINGS=all:0:antigravity.x:0:0 id -u", "loader, interpreter or shell"),
        ("sudo BASH_ENV=/tmp/x id", "loader, interpreter or shell"),
        ("env -S 'BROWSER=x id' -u", "splits a string"),
    ],
)
def test_a_runbook_assignment_of_a_hook_is_refused(text: str, why: str) -> None:
    res = execute(step_of(text, "bash"), ExecContext())
    assert res.status == "unavailable" and why in res.summary, res.summary
    assert res.blocks == ()  # nothing ran


def test_a_request_value_never_picks_where_a_client_connects() -> None:
    ctx = ExecContext(
        variables={"HOSTNAME_": "evil.example", "PGHOST": "10.0.0.1", "KUBECONFIG": "/tmp/k"},
        request_variables=frozenset({"PGHOST", "KUBECONFIG"}),
    )
    env = _child_env(PRINT_ENV + ' "$PGHOST" "$KUBECONFIG" "$HOSTNAME_"', ctx)
    assert env.get("PGHOST") is None and env.get("KUBECONFIG") != "/tmp/k"
    assert env["HOSTNAME_"] == "evil.example"  # plain data reaches the step as named
    res = execute(step_of("env PGHOST=$PGHOST id -u"), ctx)
    assert res.status == "unavailable" and "given in the request" in res.summary
