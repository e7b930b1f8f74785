"""The `opsbook` command. `opsbook --help` lists everything; each command's --help teaches it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from opsbook.cli import (
    admin,
    coerce,
    incidents,
    notify,
    oncall,
    postmortem,
    report,
    runbooks,
    silences,
)
from opsbook.cli import audit as audit_cli
from opsbook.cli import backup as backup_cli
from opsbook.cli import checks as checks_cli
from opsbook.cli import erase as erase_cli
from opsbook.cli import heartbeats as heartbeats_cli
from opsbook.cli import rollout as rollout_cli
from opsbook.cli import routes as routes_cli
from opsbook.cli import slo as slo_cli
from opsbook.cli import users as users_cli
from opsbook.cli import verify as verify_cli
from opsbook.cli.common import ConfigOpt, config_or_exit, ready_engine, settings
from opsbook.cli.run import run_command

coerce.install()  # before any command runs: plain options convert without importing pydantic


class _Opsbook(typer.Typer):
    """The root command. ``opsbook incidents …`` builds only its own group's commands: building
    every command's options costs ~100 ms per call, a third of what `incidents list` may take."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        argv = sys.argv[1:]
        if not args and not kwargs and argv and argv[0] == "incidents":
            return incidents.app(args=argv[1:], prog_name="opsbook incidents")
        return super().__call__(*args, **kwargs)


app = _Opsbook(
    help="opsbook: alerts in, incidents out, runbooks that run.\n\n"
    "Start with `opsbook config check opsbook.yaml`, then `opsbook serve`.",
    no_args_is_help=True,
    add_completion=False,
)
SETUP, WORK, RUNBOOKS, ONCALL, LEARN = "Set up and run", "Incidents", "Runbooks", "On call", "Learn"


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"opsbook {version('opsbook')}")
        raise typer.Exit()


@app.callback()
def main(
    _version_flag: bool = typer.Option(
        False,
        "--version",
        callback=_version,
        is_eager=True,
        help="print the installed version and exit (say it in bug and security reports)",
    ),
) -> None:
    """opsbook: alerts in, incidents out, runbooks that run."""


def _check_port(host: str, port: int) -> None:
    """Exit 2 with what to do when ``host:port`` cannot be listened on (taken, not allowed)."""
    import errno
    import socket

    from opsbook.cli.common import fail

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        fail(f"cannot listen on {host}: {exc.strerror}; check --host or OPSBOOK_HOST", 2)
    family, kind, proto, _, address = infos[0]
    try:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            sock.bind(address)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            fail(
                f"port {port} on {host} is taken: another program (perhaps another opsbook) is "
                f"listening there. Stop it, or serve on another port: --port {port + 1} or "
                f"OPSBOOK_PORT={port + 1} (with make run: make run PORT={port + 1})",
                2,
            )
        fail(f"cannot listen on {host}:{port}: {exc.strerror}; try another --port", 2)


@app.command(rich_help_panel=SETUP)
def serve(
    config: Path = ConfigOpt,
    host: str = typer.Option(
        None, "--host", help="listen address \\[env OPSBOOK_HOST; default 127.0.0.1]"
    ),
    port: int = typer.Option(
        None, "--port", "-p", help="listen port \\[env OPSBOOK_PORT; default 8080]"
    ),
    workers: int = typer.Option(
        None,
        "--workers",
        "-w",
        help="server processes, e.g. one per core \\[env OPSBOOK_WORKERS; default 1]",
    ),
) -> None:
    """Run the server: intake routes, API and metrics. Reload the config with SIGHUP or POST /-/reload."""
    st = settings()
    updates = {
        k: v for k, v in (("host", host), ("port", port), ("workers", workers)) if v is not None
    }
    st = st.model_copy(update=updates)
    cfg, path = config_or_exit(config, st)  # a bad config is refused before the app is imported
    _check_port(st.host, st.port)
    import uvicorn

    from opsbook.api.app import create_app
    from opsbook.core.logging import configure_logging

    configure_logging(st.log_level, st.log_format)
    ready_engine(st).dispose()
    typer.echo(
        f"opsbook serving on http://{st.host}:{st.port} with {st.workers} process(es) "
        f"(config {path}, database {st.safe_database_url()})",
        err=True,
    )
    if (
        st.workers > 1
    ):  # each process builds the app from the environment; SIGHUP restarts them gracefully
        import os

        os.environ.update(
            {
                "OPSBOOK_CONFIG": str(path.resolve()),
                "OPSBOOK_WORKERS": str(st.workers),
                "OPSBOOK_HOST": st.host,
                "OPSBOOK_PORT": str(st.port),
            }
        )
        uvicorn.run(
            "opsbook.api.factory:from_environment",
            factory=True,
            workers=st.workers,
            host=st.host,
            port=st.port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
        return
    app_ = create_app(st, cfg, config_path=path, handle_sighup=True)
    uvicorn.run(app_, host=st.host, port=st.port, log_config=None, access_log=False, lifespan="on")


@app.command(rich_help_panel=SETUP)
def worker(config: Path = ConfigOpt) -> None:
    """Run a job worker (step runs, automatic diagnostics) beside `serve`; run several for more throughput.

    On PostgreSQL, workers claim jobs with FOR UPDATE SKIP LOCKED: no job runs twice, none is lost
    when a worker dies (read-only work is retried, anything that changes state is marked interrupted).
    """
    import signal

    from opsbook.core.clock import SystemClock
    from opsbook.core.logging import configure_logging
    from opsbook.flows.runbook_catalog import RunbookCatalog
    from opsbook.jobs.kinds import all_job_kinds
    from opsbook.jobs.worker import Worker
    from opsbook.storage.db import make_sessionmaker

    st = settings()
    cfg, path = config_or_exit(config, st)
    configure_logging(st.log_level, st.log_format)
    engine = ready_engine(st)
    catalog = RunbookCatalog.load(cfg, path.parent)
    sessions = make_sessionmaker(engine)
    w = Worker(
        sessions,
        SystemClock(),
        all_job_kinds(sessions, lambda: cfg, lambda: catalog, st, SystemClock()),
    )
    signal.signal(signal.SIGTERM, lambda *_: w.stop())
    signal.signal(signal.SIGINT, lambda *_: w.stop())
    typer.echo(f"opsbook worker {w.name} on {st.safe_database_url()} (config {path})", err=True)
    w.run_forever()


# registered after serve/worker so `opsbook --help` lists the set-up panel first
app.add_typer(admin.config_app, name="config", rich_help_panel=SETUP)
app.add_typer(admin.db_app, name="db", rich_help_panel=SETUP)
app.add_typer(admin.tokens_app, name="tokens", rich_help_panel=SETUP)
app.add_typer(users_cli.app, name="users", rich_help_panel=SETUP)
app.command("backup", rich_help_panel=SETUP)(backup_cli.backup)
app.command("restore", rich_help_panel=SETUP)(backup_cli.restore)
app.add_typer(audit_cli.app, name="audit", rich_help_panel=SETUP)
app.add_typer(erase_cli.app, name="erase", rich_help_panel=SETUP)
app.add_typer(incidents.app, name="incidents", rich_help_panel=WORK)
app.add_typer(silences.app, name="silences", rich_help_panel=WORK)
runbooks.app.command("verify")(verify_cli.verify_cmd)
app.add_typer(runbooks.app, name="runbooks", rich_help_panel=RUNBOOKS)
app.add_typer(rollout_cli.app, name="rollout", rich_help_panel=RUNBOOKS)
app.command("run", rich_help_panel=RUNBOOKS)(run_command)
app.add_typer(checks_cli.app, name="checks", rich_help_panel=RUNBOOKS)
app.add_typer(heartbeats_cli.app, name="heartbeats", rich_help_panel=RUNBOOKS)
app.add_typer(slo_cli.app, name="slo", rich_help_panel=RUNBOOKS)
app.command("oncall", rich_help_panel=ONCALL)(oncall.oncall)
app.add_typer(routes_cli.app, name="routes", rich_help_panel=ONCALL)
app.add_typer(oncall.overrides_app, name="overrides", rich_help_panel=ONCALL)
app.add_typer(notify.app, name="notify", rich_help_panel=ONCALL)
app.add_typer(postmortem.app, name="postmortem", rich_help_panel=LEARN)
app.command("report", rich_help_panel=LEARN)(report.report)


if __name__ == "__main__":
    app()
