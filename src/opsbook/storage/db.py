"""Engine and sessions. SQLite runs in WAL mode with ``synchronous=FULL``: a commit is on disk."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from opsbook.core.errors import StorageUnavailable


def make_engine(url: str) -> Engine:
    """An engine tuned for the backend: durable SQLite pragmas, short PostgreSQL timeouts."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 5})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.close()

        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=5,
        connect_args={"connect_timeout": 3} if url.startswith("postgresql") else {},
    )


def insert_ignore(s: Session, table: Table, rows: list[dict[str, Any]]) -> int:
    """Insert rows, skipping those whose primary key exists (SQLite and PostgreSQL)."""
    if not rows:
        return 0
    dialect = s.get_bind().dialect.name
    ins = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    res = s.execute(ins.values(rows).on_conflict_do_nothing())
    return int(res.rowcount or 0)  # type: ignore[attr-defined]


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def is_unavailable(exc: BaseException) -> bool:
    """True for errors that mean "try again later": connection lost, database locked, pool full."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Turn backend outages into StorageUnavailable so edges can answer 503 + Retry-After."""
    try:
        yield
    except Exception as exc:
        if is_unavailable(exc):
            raise StorageUnavailable("the database is unavailable; retry shortly") from exc
        raise


def ping(engine: Engine) -> None:
    """Raises StorageUnavailable unless ``SELECT 1`` answers."""
    with translate_errors(), engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def write_probe(engine: Engine, timeout: float = 1.0) -> None:
    """Raise StorageUnavailable (with the database's reason) unless a write could commit now.

    A write transaction is begun for real and rolled back: SQLite must take its write lock
    (held by another writer → "database is locked"), PostgreSQL must accept an UPDATE (a
    read-only database or a standby refuses it). Waits at most ``timeout`` seconds for locks.
    """
    ms = max(1, int(timeout * 1000))
    sqlite = engine.dialect.name == "sqlite"
    try:
        with engine.connect() as conn:  # one transaction, begun by the first statement
            try:
                if sqlite:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={ms}")
                else:
                    conn.exec_driver_sql(f"SET LOCAL lock_timeout = {ms}")
                    conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms * 2}")
                conn.execute(
                    text("UPDATE alembic_version SET version_num = version_num WHERE 1 = 0")
                )
            finally:
                conn.rollback()
                if sqlite:  # the pooled connection goes back with the normal wait
                    conn.exec_driver_sql("PRAGMA busy_timeout=5000")
                    conn.rollback()
    except Exception as exc:
        if isinstance(exc, DBAPIError) or is_unavailable(exc):
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200]
            raise StorageUnavailable(f"the database does not accept writes: {reason}") from exc
        raise
