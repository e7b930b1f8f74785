"""Bulk INSERT of plain rows with the bind conversion worked out once per (table, columns).

SQLAlchemy's Core ``insert(table)`` executemany converts every value through a chain of
processors per row; intake writes two rows per alert, so that chain was most of a batch's
cost. Here the statement is compiled once, each column gets one converter, and on SQLite the
two hot types (UTC datetimes, JSON) are converted directly, giving the same stored values.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.types import JSON

from opsbook.storage.tables import UTCDateTime

Converter = Callable[[Any], Any]


def _sqlite_time(value: datetime | None) -> str | None:
    """What UTCDateTime + SQLite's DATETIME store: naive UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    if value is None:
        return None
    value = value.astimezone(UTC) if value.tzinfo else value
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _sqlite_json(slow: Converter | None) -> Converter:
    """orjson for JSON columns; a value orjson refuses goes through SQLAlchemy's own path."""
    opts = orjson.OPT_NON_STR_KEYS

    def convert(value: Any) -> Any:
        if value is None:
            return slow(value) if slow else None
        try:
            return orjson.dumps(value, option=opts).decode()
        except TypeError:
            return slow(value) if slow else value

    return convert


def _identity(value: Any) -> Any:
    return value


def _converter(table: Table, name: str, dialect: Dialect) -> Converter:
    kind = table.c[name].type.dialect_impl(dialect)  # the dialect's variant (JSONB on PG)
    slow = kind.bind_processor(dialect)
    if dialect.name == "sqlite":
        if isinstance(kind, UTCDateTime):
            return _sqlite_time
        if isinstance(kind, JSON):
            return _sqlite_json(slow)
    return slow or _identity


class _Plan:
    """One compiled INSERT and the converter of each of its parameters, in order."""

    def __init__(self, table: Table, names: tuple[str, ...], dialect: Dialect) -> None:
        compiled = insert(table).compile(dialect=dialect, column_keys=list(names))
        order = compiled.positiontup
        binds = tuple(order) if order is not None else tuple(compiled.binds)
        if set(binds) != set(names):  # a column default to evaluate: not for this path
            raise ValueError(f"{table.name}: parameters {binds} differ from the columns {names}")
        self.sql = compiled.string
        self.positional = order is not None
        self.names = binds
        self.converters = tuple(_converter(table, n, dialect) for n in binds)

    def params(self, rows: Sequence[dict[str, Any]]) -> list[Any]:
        """The executemany parameters, converted column by column; a value shared by many rows
        (the commit's timestamp, say) is converted once."""
        columns: list[list[Any]] = []
        for name, conv in zip(self.names, self.converters, strict=True):
            if conv is _identity:
                columns.append([row[name] for row in rows])
                continue
            seen: dict[int, Any] = {}
            out = []
            for row in rows:
                value = row[name]
                key = id(value)
                if key in seen:
                    out.append(seen[key])
                else:
                    seen[key] = converted = conv(value)
                    out.append(converted)
            columns.append(out)
        if self.positional:
            return list(zip(*columns, strict=True))
        return [dict(zip(self.names, values, strict=True)) for values in zip(*columns, strict=True)]


_PLANS: dict[tuple[str, str, tuple[str, ...]], _Plan] = {}
_LOCK = threading.Lock()


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ``rows`` (dicts with the same keys) in one executemany on ``conn``'s transaction.

    Rows whose keys differ, or that leave a column with a default unset, go through
    SQLAlchemy's ordinary ``insert`` instead.
    """
    if not rows:
        return
    names = tuple(rows[0])
    key = (conn.dialect.name, table.name, names)
    plan = _PLANS.get(key)
    if plan is None:
        try:
            plan = _Plan(table, names, conn.dialect)
        except ValueError:
            conn.execute(insert(table), list(rows))
            return
        with _LOCK:
            _PLANS[key] = plan
    try:
        if any(len(row) != len(names) for row in rows):
            raise KeyError(names)
        params = plan.params(rows)
    except KeyError:
        conn.execute(insert(table), list(rows))
        return
    conn.exec_driver_sql(plan.sql, params)
