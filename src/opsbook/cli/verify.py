"""`opsbook runbooks verify [SERVICE]`: run every read-only step of the runbooks here and now,
report the ones that no longer work, and keep the history in the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from opsbook.cli.common import ConfigOpt, config_or_exit, fail, settings
from opsbook.cli.render import table, when

if TYPE_CHECKING:
    from opsbook.flows.verify import Outcome

_MARK = {"ok": "✓", "failed": "✗", "skipped": "–"}


def _line(o: Outcome) -> str:
    t = o.target
    where = f"{t.runbook.path}#{t.section.id}:{t.step.line}"
    title = (t.step.title or " ".join(t.step.text.split()))[:50]
    detail = "" if o.status == "ok" else f"  {o.category}: {o.summary}"
    return f"{_MARK[o.status]} {t.service.name:<16} {where}  {title}{detail}"


def verify_cmd(
    service: str = typer.Argument(None, help="only this service \\[default: every service]"),
    config: Path = ConfigOpt,
    tenant: str = typer.Option(None, "--tenant", help="only this tenant's services"),
    status: bool = typer.Option(
        False, "--status", help="run nothing: show each step's last result and whether it is stale"
    ),
    record: bool = typer.Option(
        True, "--record/--no-record", help="store the results in the database (history, staleness)"
    ),
    show_skipped: bool = typer.Option(False, "--skipped", help="also list steps not verified"),
    as_json: bool = typer.Option(False, "--json", help="print the results as JSON"),
) -> None:
    """Run every read-only diagnostic step of the runbooks against the real systems, from this
    machine, and report the steps that fail: command missing, host unreachable, variable
    undefined, query error, timeout. Mutating, destructive and interactive steps never run.

    Results are stored (the server shows them, lint can mark stale runbooks); `--status` shows
    the stored history instead of running. Exit code 1 when a step fails (or, with --status, is
    stale or failing), 2 for usage errors.
    """
    from opsbook.core.clock import SystemClock
    from opsbook.flows import verify
    from opsbook.flows.runbook_catalog import RunbookCatalog

    st = settings()
    cfg, path = config_or_exit(config, st)
    if service and not any(s.name == service for s in cfg.services):
        known = ", ".join(sorted({s.name for s in cfg.services})) or "none"
        fail(f"no service {service!r} in {path}; services: {known}", 2)
    catalog = RunbookCatalog.load(cfg, path.parent)
    items = verify.targets(cfg, catalog, tenant=tenant, service=service)
    now = SystemClock().now()
    if status:
        _status(st, items, now, cfg.verification.stale_after, as_json)
        return
    runnable = [t for t in items if verify.verifiable(t.step) is None]
    if not as_json:
        typer.echo(
            f"verifying {len(runnable)} read-only steps of {len({t.service.name for t in items})} "
            f"services ({len(items) - len(runnable)} others are not run)",
            err=True,
        )

    def progress(o: Outcome) -> None:
        if not as_json and (o.status != "skipped" or show_skipped):
            typer.echo(_line(o))

    outcomes = verify.verify(
        items, timeout=cfg.verification.step_timeout, step_path=st.step_path, progress=progress
    )
    stored = _store(st, outcomes, now) if record else 0
    c = verify.counts(outcomes)
    if as_json:
        typer.echo(
            json.dumps({"counts": c, "steps": [verify.outcome_json(o) for o in outcomes]}, indent=2)
        )
    else:
        note = f"; {stored} results stored" if record else ""
        typer.echo(f"\n{c['ok']} ok, {c['failed']} failed, {c['skipped']} not run{note}", err=True)
    if c["failed"]:
        raise typer.Exit(1)


def _store(st: Any, outcomes: list[Outcome], now: Any) -> int:
    from opsbook.cli.common import ready_engine
    from opsbook.flows import verify
    from opsbook.storage.db import make_sessionmaker

    engine = ready_engine(st)
    try:
        with make_sessionmaker(engine).begin() as s:
            return verify.record(s, outcomes, now, "cli")
    finally:
        engine.dispose()


def _status(st: Any, items: list[Any], now: Any, stale_after: Any, as_json: bool) -> None:
    from opsbook.cli.common import ready_engine
    from opsbook.flows import verify
    from opsbook.storage.db import make_sessionmaker

    engine = ready_engine(st)
    try:
        with make_sessionmaker(engine)() as s:
            found = verify.states(s, items, now, stale_after)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps([verify.state_json(x) for x in found], indent=2))
    else:
        rows = []
        for x in found:
            t, last = x.target, x.last
            rows.append(
                [
                    t.service.name,
                    f"{t.runbook.path}#{t.section.id}:{t.step.line}",
                    "never" if last is None else f"{last.status} ({last.category})",
                    when(x.last_ok_at) if x.last_ok_at else "never",
                    "STALE" if x.stale else "",
                ]
            )
        typer.echo(table(["SERVICE", "STEP", "LAST", "LAST PASSED", ""], rows))
    if any(x.stale or (x.last is not None and x.last.status == "failed") for x in found):
        raise typer.Exit(1)
