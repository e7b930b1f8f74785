"""`opsbook erase person NAME|EMAIL`: answer a data-subject request on the server's database."""

from __future__ import annotations

from pathlib import Path

import typer

from opsbook.cli.common import ConfigOpt, config_or_exit, fail, ready_engine, settings

app = typer.Typer(help="Erase a person (a user or a status-page subscriber) everywhere.")


@app.command()
def person(
    who: str = typer.Argument(..., help="the user name or email address"),
    tenant: str = typer.Option(..., "--tenant", "-t", help="the tenant the person belongs to"),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="report what would change, change nothing"
    ),
    config: Path = ConfigOpt,
) -> None:
    """Delete the person's account rows and replace every mention with a stable pseudonym;
    prints what changed, table by table."""
    import json

    from opsbook.core.clock import SystemClock
    from opsbook.core.errors import OpsbookError
    from opsbook.flows.erasure import erase_person
    from opsbook.storage.db import make_sessionmaker

    st = settings()
    cfg, _ = config_or_exit(config, st)
    engine = ready_engine(st)
    try:
        s = make_sessionmaker(engine)()
        try:
            result = erase_person(
                s,
                cfg,
                tenant=tenant,
                who=who,
                actor="cli",
                now=SystemClock().now(),
                dry_run=dry_run,
            )
            if dry_run:
                s.rollback()
            else:
                s.commit()
        except OpsbookError as exc:
            s.rollback()
            fail(exc.detail)
        finally:
            s.close()
    finally:
        engine.dispose()
    typer.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True))
    if result.config_mentions:
        typer.echo(
            "opsbook.yaml still names this person at: "
            + ", ".join(result.config_mentions)
            + " — remove them there and reload, or new records will name them again",
            err=True,
        )
