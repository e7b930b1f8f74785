"""`opsbook backup FILE` and `opsbook restore FILE`: a consistent copy while serving, and back."""

from __future__ import annotations

from pathlib import Path

import typer

from opsbook.cli.common import fail, ready_engine, settings


def backup(
    file: Path = typer.Argument(
        ..., help="where to write the backup (SQLite file or pg_dump archive)"
    ),
) -> None:
    """Back up the database while the server keeps serving (SQLite online backup; pg_dump)."""
    from opsbook.core.errors import OpsbookError
    from opsbook.flows.backup import backup as do_backup

    engine = ready_engine(settings())
    try:
        done = do_backup(engine, file)
    except OpsbookError as exc:
        fail(exc.detail)
    finally:
        engine.dispose()
    typer.echo(f"backed up to {done.path} ({done.kind}, {done.bytes} bytes)")


def restore(
    file: Path = typer.Argument(..., help="a file written by `opsbook backup`"),
    force: bool = typer.Option(False, "--force", help="replace a database that holds data"),
) -> None:
    """Restore a backup, then run the migrations (refused on a database with data unless --force).

    Stop the servers first: the restore replaces the whole database."""
    from opsbook.core.errors import OpsbookError
    from opsbook.flows.backup import restore as do_restore
    from opsbook.storage.db import make_engine

    st = settings()
    engine = make_engine(st.database_url)
    try:
        done = do_restore(engine, file, force=force)
    except OpsbookError as exc:
        fail(exc.detail)
    finally:
        engine.dispose()
    typer.echo(f"restored {done.path} ({done.kind}): {done.rows} rows, schema current")
