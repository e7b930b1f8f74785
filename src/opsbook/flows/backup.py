"""Backups: SQLite's online backup API (a consistent copy while the server writes) and
``pg_dump``/``pg_restore`` for PostgreSQL; a restore refuses a database that holds data unless
forced, and runs the migrations afterwards so an older backup comes up at the current schema."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from opsbook.core.errors import Conflict, InputError
from opsbook.storage import migrate
from opsbook.storage.tables import Base

NOT_DATA = {"alembic_version", "audit_head"}
"""Tables a freshly migrated, never used database already has rows in."""
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


@dataclass(frozen=True)
class Done:
    """What a backup or restore did, for the command's one line of output."""

    path: Path
    kind: str  # sqlite | pg_dump
    bytes: int
    rows: int | None = None


def _sqlite_path(engine: Engine) -> Path:
    db = engine.url.database
    if not db or db == ":memory:":
        raise InputError("an in-memory SQLite database cannot be backed up", field="database_url")
    return Path(db)


def _pg_env(engine: Engine) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password (it goes in PGPASSWORD, never on a command line)."""
    url = make_url(engine.url.render_as_string(hide_password=False))
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    for candidate in (f"/usr/lib/postgresql/15/bin/{name}", shutil.which(name)):
        if candidate and Path(candidate).exists():
            return candidate
    raise InputError(
        f"{name} is not installed: install the PostgreSQL client (Debian package postgresql-15)",
        field="database_url",
    )


def _run(argv: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run(  # noqa: S603 - argv of our own tool and paths, no shell
        argv, env=env, capture_output=True, text=True, timeout=3600, check=False
    )
    if proc.returncode != 0:
        raise InputError(
            f"{Path(argv[0]).name} failed ({proc.returncode}): {proc.stderr.strip()[-800:]}",
            field="file",
        )


def backup(engine: Engine, target: Path) -> Done:
    """Write a consistent copy of the database to ``target`` (the server may keep serving)."""
    target = Path(target)
    if target.exists() and target.is_dir():
        raise InputError(f"{target} is a directory; name a file", field="file")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    if engine.dialect.name == "sqlite":
        src = sqlite3.connect(str(_sqlite_path(engine)), timeout=30)
        dst = sqlite3.connect(str(tmp))
        try:
            with dst:
                src.backup(dst)  # one step: a WAL snapshot; writers go on meanwhile
            dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
            ok = dst.execute("PRAGMA quick_check").fetchone()
            if not ok or ok[0] != "ok":
                raise InputError(f"the copy failed its integrity check: {ok}", field="file")
        finally:
            dst.close()
            src.close()
        kind = "sqlite"
    else:
        url, env = _pg_env(engine)
        _run(
            [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={tmp}", f"--dbname={url}"],
            env,
        )
        kind = "pg_dump"
    os.replace(tmp, target)
    return Done(target, kind, target.stat().st_size)


def data_rows(engine: Engine) -> int:
    """Rows in the opsbook tables that hold data (0: empty or never used)."""
    names = set(inspect(engine).get_table_names())
    total = 0
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in names and table.name not in NOT_DATA:
                total += int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    return total


def restore(engine: Engine, source: Path, *, force: bool = False) -> Done:
    """Replace the database with the backup ``source``, then migrate it to the current schema."""
    source = Path(source)
    if not source.is_file():
        raise InputError(f"no backup file at {source}", field="file")
    with source.open("rb") as f:
        magic = f.read(16)
    sqlite = engine.dialect.name == "sqlite"
    if sqlite and not magic.startswith(SQLITE_MAGIC):
        raise InputError(f"{source} is not a SQLite backup (this database is SQLite)", field="file")
    if not sqlite and not magic.startswith(PG_MAGIC):
        raise InputError(
            f"{source} is not a pg_dump backup (this database is PostgreSQL)", field="file"
        )
    rows = data_rows(engine)
    if rows and not force:
        raise Conflict(
            f"the database holds data ({rows} rows); restoring would replace it: add --force",
            field="force",
        )
    engine.dispose()
    if sqlite:
        src = sqlite3.connect(str(source))
        dst = sqlite3.connect(str(_sqlite_path(engine)), timeout=30)
        try:
            with dst:
                src.backup(dst)  # page by page into the live file, under its write lock
        finally:
            dst.close()
            src.close()
        kind = "sqlite"
    else:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        url, env = _pg_env(engine)
        _run(
            [_tool("pg_restore"), "--no-owner", "--exit-on-error", f"--dbname={url}", str(source)],
            env,
        )
        kind = "pg_dump"
    migrate.upgrade(engine)
    return Done(source, kind, source.stat().st_size, data_rows(engine))
