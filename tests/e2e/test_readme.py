"""The README's tour, run as a newcomer runs it: real bash, real curl, the real CLI, a real server.

Blocks marked ``<!-- readme-test … -->`` in README.md run in order in one shell state (variables
a block sets are there for the next), from a directory laid out like a fresh clone after
``make run`` (``opsbook.yaml`` from ``opsbook.example.yaml``, ``examples/``, ``.venv``), with the
server's port put where the README says 8080. Each must exit 0 and print every ``expect='…'`` of
its marker; ``wait=N`` re-runs a block for up to N s (a page is delivered by the worker a moment
after the alert). Static checks keep the rest of the README honest: curl commands name a URL,
variables are defined before use, paths it names exist.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.server import OpsbookServer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("readme")]

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DEFAULT = "127.0.0.1:8080"
MARKED = re.compile(
    r"<!--\s*readme-test(?P<args>[^>]*?)-->\s*\n```(?:sh|bash)\n(?P<code>.*?)\n```", re.S
)
FENCE = re.compile(r"```(?:sh|bash)\n(.*?)\n```", re.S)
ASSIGNED = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=", re.M)
USED = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
SHELL_KNOWN = {"PATH", "PWD", "HOME"}


@dataclass(frozen=True)
class Block:
    code: str
    expects: tuple[str, ...]
    wait: float
    line: int


def marked_blocks(text: str) -> list[Block]:
    out = []
    for m in MARKED.finditer(text):
        args = m.group("args")
        wait = re.search(r"wait=(\d+)", args)
        out.append(
            Block(
                code=m.group("code"),
                expects=tuple(re.findall(r"expect='([^']*)'", args)),
                wait=float(wait.group(1)) if wait else 0.0,
                line=text.count("\n", 0, m.start()) + 1,
            )
        )
    return out


def _commands(code: str) -> list[str]:
    """The block's logical lines (continuations joined), comments dropped."""
    joined = code.replace("\\\n", " ")
    return [ln.split(" # ")[0] for ln in joined.splitlines() if ln.strip()]


def test_readme_static_rules() -> None:
    """Every curl names a URL (no HTTPie shorthand like `:8080/…`), every $VAR of a shell block
    is set by an earlier block, and every examples/ path the README names exists."""
    text = README.read_text()
    blocks = FENCE.findall(text)
    assert len(marked_blocks(text)) >= 7, "the tour's blocks lost their readme-test markers"
    defined = set(SHELL_KNOWN)
    for code in blocks:
        for cmd in _commands(code):
            if re.search(r"(^|[|;&(]\s*|\$\()curl\s", cmd):
                assert re.search(r"https?://", cmd), f"curl without a URL: {cmd}"
                assert not re.search(r"\s:\d+/", cmd), f"HTTPie shorthand in: {cmd}"
            names = set(ASSIGNED.findall(cmd))
            for used in USED.findall(re.sub(r"'[^']*'", "", cmd)):  # not inside '…'
                assert used in defined | names, f"${used} is used before any command sets it: {cmd}"
            defined |= names
    for path in sorted(set(re.findall(r"\bexamples/[\w./-]+[\w/]", text))):
        assert (REPO / path.split("#")[0]).exists(), f"README names {path}, which does not exist"


def _child_cpu() -> float:
    """CPU seconds used by finished child processes so far (the block's commands)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _layout(tmp: Path) -> None:
    """A fresh clone after `make run`: the example config, the examples, the venv."""
    (tmp / "examples").symlink_to(REPO / "examples")
    (tmp / ".venv").symlink_to(REPO / ".venv")


def test_readme_tour_runs_against_a_server(tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed (make test-deps installs it)")
    blocks = marked_blocks(README.read_text())
    _layout(tmp_path)
    srv = OpsbookServer(tmpdir=tmp_path, env={"OPSBOOK_LOG_FORMAT": "json"})
    here = f"127.0.0.1:{srv.port}"
    srv.write_config((REPO / "opsbook.example.yaml").read_text().replace(DEFAULT, here))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOOK_")}
    env["OPSBOOK_URL"] = srv.url  # the CLI's default is :8080; the README's server is here
    env.pop("COLUMNS", None)
    state = tmp_path / "shell-state.sh"
    state.write_text("")
    with srv:
        root = srv.get("/", follow_redirects=False)
        assert root.status_code in (302, 303, 307) and root.headers["location"] == "/ui/"
        for block in blocks:
            code = block.code.replace(DEFAULT, here)
            names = sorted(set(ASSIGNED.findall(code)))
            script = f"set -euo pipefail\nsource {state}\n{code}\n" + (
                f"declare -p {' '.join(names)} > {state}.new\n" if names else ""
            )
            started, cpu = time.monotonic(), _child_cpu()
            deadline = started + block.wait
            while True:
                run = subprocess.run(
                    ["bash", "-c", script],
                    cwd=tmp_path,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=90,
                )
                shown = run.stdout + run.stderr
                missing = [e for e in block.expects if e.replace(DEFAULT, here) not in shown]
                if (run.returncode == 0 and not missing) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            where = f"README.md:{block.line}"
            took = f"{time.monotonic() - started:.1f} s, {_child_cpu() - cpu:.1f} s CPU"
            print(f"{where}: {took}")  # shown with -s or on failure
            assert run.returncode == 0, (
                f"{where} exited {run.returncode}\n{code}\n--- output:\n{shown}\n{srv.log_tail(15)}"
            )
            assert not missing, f"{where} did not show {missing}\n{code}\n--- output:\n{shown}"
            if names:
                new = Path(f"{state}.new").read_text()
                state.write_text(state.read_text() + new)
