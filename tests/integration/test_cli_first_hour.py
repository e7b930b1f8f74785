"""What a newcomer's first mistakes look like from the CLI: a taken port, a runbook path that is
not there, a service's variables for `opsbook run`. Real subprocesses, no server needed."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from tests.support.server import OPSBOOK_EXE

pytestmark = [pytest.mark.xdist_group("cli"), pytest.mark.timeout(120)]

REPO = Path(__file__).resolve().parents[2]


def _opsbook(*args: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), **env}
    return subprocess.run(
        [OPSBOOK_EXE, *args], cwd=cwd, env=base, capture_output=True, text=True, timeout=60
    )


def test_serve_on_a_taken_port_says_which_and_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        res = _opsbook(
            "serve",
            "--config",
            str(REPO / "opsbook.example.yaml"),
            "--port",
            str(port),
            cwd=tmp_path,
            OPSBOOK_DATABASE_URL=f"sqlite:///{tmp_path}/o.db",
        )
    assert res.returncode == 2, res.stderr
    assert f"port {port} on 127.0.0.1 is taken" in res.stderr
    assert "--port" in res.stderr and "OPSBOOK_PORT=" in res.stderr
    assert "Traceback" not in res.stderr + res.stdout and "Errno" not in res.stderr


@pytest.mark.parametrize("command", ["export", "show"])
def test_a_runbook_path_that_is_not_there_is_an_error(command: str) -> None:
    res = _opsbook("runbooks", command, "docs/runbooks/nothere.md")
    assert res.returncode == 1
    assert "docs/runbooks/nothere.md: cannot read: No such file or directory" in res.stderr
    assert res.stdout == ""  # no empty runbook printed as if it were one


def test_run_takes_the_variables_the_service_defines() -> None:
    res = _opsbook(
        "run",
        "examples/runbooks/checkout-api.md#CheckoutApiDown",
        "--service",
        "checkout-api",
        "--config",
        "opsbook.example.yaml",
        "--dry-run",
    )
    assert res.returncode == 0, res.stderr
    assert '$ psql "postgresql://checkout@127.0.0.1:5432/checkout" -c "SELECT 1;"' in res.stdout
    assert '$ redis-cli -u "redis://127.0.0.1:6379/0" PING' in res.stdout
    unknown = _opsbook(
        "run", "examples/runbooks/checkout-api.md#CheckoutApiDown", "--service", "nope",
        "--config", "opsbook.example.yaml", "--dry-run",
    )  # fmt: skip
    assert unknown.returncode == 2 and "service 'nope' is not in" in unknown.stderr
    assert "checkout-api" in unknown.stderr
