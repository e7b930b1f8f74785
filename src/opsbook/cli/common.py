"""Shared CLI plumbing: settings, config loading with friendly errors, local database access."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from opsbook.core.errors import ConfigError, OpsbookError

if TYPE_CHECKING:  # imported lazily below: keeps `opsbook --help` and API commands fast
    from sqlalchemy import Engine

    from opsbook.config.models import Config
    from opsbook.core.settings import Settings

ConfigOpt = typer.Option(
    None,
    "--config",
    "-c",
    help="path of opsbook.yaml \\[env OPSBOOK_CONFIG; default ./opsbook.yaml]",
)


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def settings() -> Settings:
    from opsbook.core.settings import Settings

    return Settings()


def config_or_exit(path: Path | None, st: Settings) -> tuple[Config, Path]:
    from opsbook.config.load import load_config

    p = Path(path or st.config)
    try:
        return load_config(p), p
    except ConfigError as exc:
        typer.echo(exc.detail, err=True)
        typer.echo(
            "config check failed: fix the lines above, then run `opsbook config check`", err=True
        )
        raise typer.Exit(2) from None


def ready_engine(st: Settings, *, upgrade_sqlite: bool = True) -> Engine:
    """An engine whose schema is current: SQLite is upgraded in place, PostgreSQL must be upgraded by hand."""
    from opsbook.storage import migrate
    from opsbook.storage.db import make_engine

    engine = make_engine(st.database_url)
    try:
        if migrate.is_current(engine):
            return engine
        if engine.dialect.name == "sqlite" and upgrade_sqlite:
            migrate.upgrade(engine)
            return engine
    except OpsbookError as exc:
        fail(f"cannot reach the database at {st.safe_database_url()}: {exc.detail}")
    fail(
        f"the database at {st.safe_database_url()} is not at the current schema; run `opsbook db upgrade` first"
    )


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()
