"""`opsbook audit verify|export`: check the hash chain, hand the log to an auditor."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import typer

from opsbook.cli.common import ConfigOpt, fail, ready_engine, settings

app = typer.Typer(help="The audit log of security-relevant acts: verify its chain, export it.")


@app.command()
def verify(config: Path = ConfigOpt) -> None:
    """Walk the whole hash chain; exit 1 naming the first entry that was changed or removed."""
    from opsbook.flows.audit import verify_log
    from opsbook.storage.db import make_sessionmaker

    del config  # the log lives in the database; the option is accepted like everywhere else
    engine = ready_engine(settings())
    try:
        with make_sessionmaker(engine)() as s:
            verdict = verify_log(s)
    finally:
        engine.dispose()
    if verdict.broken is not None:
        typer.echo(
            f"audit log BROKEN at entry {verdict.broken.seq}: {verdict.broken.reason} "
            f"({verdict.checked} entries before it verified)",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"audit log intact: {verdict.checked} entries, head {verdict.head}")


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    from datetime import UTC

    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(
            f"--since {text!r}: expected a date or time like 2026-01-31 or 2026-01-31T12:00:00Z", 2
        )
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@app.command()
def export(
    since: str = typer.Option(None, "--since", help="only entries at or after this ISO time"),
    tenant: str = typer.Option(None, "--tenant", "-t", help="only this tenant's entries"),
    output: Path = typer.Option(None, "--output", "-o", help="write here instead of stdout"),
) -> None:
    """Print the log as JSON lines, oldest first (each line carries its hash and the previous)."""
    import json

    from opsbook.flows.audit import export as export_entries
    from opsbook.storage.db import make_sessionmaker

    start = _since(since)
    engine = ready_engine(settings())
    out = output.open("w", encoding="utf-8") if output else sys.stdout
    n = 0
    try:
        with make_sessionmaker(engine)() as s:
            for item in export_entries(s, since=start, tenant=tenant):
                out.write(json.dumps(item, sort_keys=True, ensure_ascii=False) + "\n")
                n += 1
    finally:
        engine.dispose()
        if output:
            out.close()
    if output:
        typer.echo(f"wrote {n} entries to {output}", err=True)
