"""The sql executor for PostgreSQL: ``psql … -c "…"`` lines and bare SQL run with psycopg 3.

A statement timeout always applies; read-only steps run inside ``BEGIN READ ONLY`` so a
misclassified write fails safely; values are bound parameters (:mod:`sql_bind`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from opsbook.executors.common import Command, Unsupported, first_command, now, result, unavailable
from opsbook.executors.models import Block, ExecContext, Resolved, StepResult, TableBlock, TextBlock
from opsbook.executors.sql_bind import bind_sql
from opsbook.executors.ssrf import Refused, judge
from opsbook.executors.targets import given_in, refusal, refused, url_variable
from opsbook.runbooks.models import Step

MAX_ROWS = 200
URL_VARIABLES = ("DATABASE_URL", "POSTGRES_URL", "POSTGRESQL_URL", "PG_URL", "POSTGRES_DSN")
_PSQL_VALUE = {"-h": "host", "--host": "host", "-p": "port", "--port": "port",
               "-U": "user", "--username": "user", "-d": "dbname", "--dbname": "dbname"}  # fmt: skip
_PSQL_IGNORED_VALUE = {"-v", "--set", "--variable", "-P", "--pset", "-F", "--field-separator",
                       "-R", "--record-separator", "-T", "--table-attr", "-L", "--log-file"}  # fmt: skip


@dataclass
class PsqlCall:
    """What a ``psql`` line asks for: connection parts and SQL templates (with value markers)."""

    conninfo: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    sql: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    """Template pieces the connection was built from (who gave which part)."""


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://``) as libpq wants it (``postgresql://``)."""
    scheme, sep, rest = url.partition("://")
    if sep and "+" in scheme:
        scheme = scheme.split("+", 1)[0]
    if scheme == "postgres":
        scheme = "postgresql"
    return f"{scheme}{sep}{rest}" if sep else url


def parse_psql(command: Command) -> PsqlCall:
    """``psql`` options → PsqlCall; ``-f FILE``, stdin scripts and interactive use are refused."""
    call = PsqlCall()
    words, template = command.words, command.template
    positional: list[str] = []
    i = 1
    while i < len(words):
        w = words[i]
        name, eq, inline = w.partition("=") if w.startswith("--") else (w, "", "")
        if name in ("-c", "--command") or (
            w.startswith("-c") and len(w) > 2 and not w.startswith("--")
        ):
            if name in ("-c", "--command"):
                if eq:
                    call.sql.append(template[i].partition("=")[2])
                else:
                    i += 1
                    call.sql.append(template[i] if i < len(words) else "")
            else:
                call.sql.append(template[i][2:])
        elif name in ("-f", "--file"):
            raise Unsupported("psql -f runs a file; opsbook runs SQL written in the runbook only")
        elif name in _PSQL_VALUE:
            call.targets.append(template[i])
            if eq:
                value = inline
            elif len(w) > 2 and not w.startswith("--"):
                value = w[2:]
            else:
                i += 1
                value = words[i] if i < len(words) else ""
                call.targets.append(template[i] if i < len(template) else "")
            call.params[_PSQL_VALUE[name]] = value
        elif w.startswith("-") and len(w) > 2 and w[:2] in _PSQL_VALUE:
            call.targets.append(template[i])
            call.params[_PSQL_VALUE[w[:2]]] = w[2:]
        elif name in _PSQL_IGNORED_VALUE and not eq:
            i += 1
        elif w.startswith("-"):
            pass  # -t -A -x -q -X --csv -w …: output format only
        else:
            positional.append(w)
            call.targets.append(template[i])
        i += 1
    if positional:
        first = positional[0]
        if "://" in first or "=" in first:
            call.conninfo = first
        else:
            call.params.setdefault("dbname", first)
        if len(positional) > 1:
            call.params.setdefault("user", positional[1])
    if not call.sql:
        raise Unsupported("psql without -c is an interactive session; run it by hand")
    return call


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


@dataclass
class Connection:
    """Where a SQL step connects: libpq conninfo and parameters, and who gave them."""

    conninfo: str
    params: dict[str, str]
    from_config: bool
    """The whole target is a config variable (DATABASE_URL …), not written in the runbook."""
    given: list[str]
    """Request variables the target was built with (the step is refused when there are any)."""


def _conninfo(call: PsqlCall, resolved: Resolved, ctx: ExecContext) -> Connection:
    given = given_in(call.targets, resolved, ctx)
    if call.conninfo:
        return Connection(libpq_url(call.conninfo), call.params, False, given)
    if not call.params.get("host"):
        name, value = url_variable(ctx, URL_VARIABLES)
        if name and value:
            if ctx.source(name) == "request":
                given.append(name)
            return Connection(libpq_url(value), call.params, not given, given)
    if call.params:
        return Connection("", call.params, False, given)
    raise Unsupported("no database to connect to: set DATABASE_URL in the service's variables")


def _judged(conn: Connection, ctx: ExecContext) -> dict[str, str]:
    """Judge every host the connection names; the parameters to connect with (``hostaddr``
    pinned to the judged address when there is one TCP host). Raises Refused/LookupError."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(conn.conninfo, **conn.params)
    except psycopg.ProgrammingError as exc:
        raise Refused(f"cannot read the connection string: {exc}") from None
    hosts = str(info.get("host") or "").split(",")
    ports = [p for p in str(info.get("port") or "").split(",") if p] or ["5432"]
    pinned = [h for h in str(info.get("hostaddr") or "").split(",") if h]
    addresses: list[str] = []
    for n, host in enumerate(hosts):
        port_text = ports[n] if n < len(ports) else ports[-1]
        port = int(port_text) if port_text.isdigit() else 5432
        if not host or host.startswith("/") or host.startswith("@"):
            if not (conn.from_config or ctx.allow_private_hosts):
                raise Refused(
                    "the step connects through a local socket; set DATABASE_URL in the "
                    "service's variables to name the database"
                )
            addresses.append("")
            continue
        _, found = judge(host, port, ctx, what="the database a SQL step")
        addresses.append(found[0])
    for addr in pinned:
        judge(addr, int(ports[0]) if ports[0].isdigit() else 5432, ctx, what="the database")
    params = dict(conn.params)
    if not pinned and len(addresses) == 1 and addresses[0]:
        params["hostaddr"] = addresses[0]
    return params


def _error(exc: Exception, start: float, command: str) -> StepResult:
    import psycopg

    msg = " ".join(str(exc).split()) or type(exc).__name__
    state = getattr(getattr(exc, "diag", None), "sqlstate", None) or ""
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return result(
            "timeout", f"statement timed out: {msg}", start, retryable=True, command=command
        )
    if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
        return result(
            "failed",
            f"refused: this step is classified read-only but tried to write ({msg}); nothing was "
            "changed. If the step really writes, fix its classification and approve it",
            start,
            command=command,
        )
    if isinstance(exc, psycopg.OperationalError) and not state:
        auth = "authentication failed" in msg or "password" in msg
        hint = (
            "check the user and password"
            if auth
            else "check DATABASE_URL and that the server is up"
        )
        return result(
            "error", f"cannot connect to PostgreSQL: {msg}; {hint}", start,
            retryable=not auth, command=command,
        )  # fmt: skip
    retryable = state[:2] in ("08", "53", "57") or state in ("40001", "40P01")
    return result(
        "failed" if not retryable else "error",
        f"SQL error{f' {state}' if state else ''}: {msg}",
        start,
        retryable=retryable,
        command=command,
    )


def run_sql(
    sql_templates: list[str],
    resolved: Resolved,
    conninfo: str,
    params: dict[str, str],
    ctx: ExecContext,
    *,
    read_only: bool,
    command: str,
) -> StepResult:
    """Run the statements on one connection: read-only ones in a READ ONLY transaction that is
    rolled back, others in autocommit (VACUUM and CREATE INDEX CONCURRENTLY need it)."""
    import psycopg

    start = now()
    try:
        statements = [s for t in sql_templates for s in bind_sql(t, resolved)]
    except Unsupported as exc:
        return unavailable(str(exc), start, command)
    if not statements:
        return unavailable("no SQL statement to run", start, command)
    timeout_ms = max(1, int(ctx.timeout * 1000))
    blocks: list[Block] = []
    summary = ""
    try:
        with psycopg.connect(
            conninfo,
            connect_timeout=max(1, int(ctx.timeout)),
            options=f"-c statement_timeout={timeout_ms}",
            autocommit=not read_only,
            **params,  # type: ignore[arg-type]
        ) as conn:
            if read_only:
                conn.read_only = True
            with conn.cursor() as cur:
                for query, values in statements:
                    cur.execute(query, values or None)
                    if cur.description is not None:
                        columns = [d.name for d in cur.description]
                        fetched = cur.fetchmany(MAX_ROWS + 1)
                        rows = [[_cell(v) for v in row] for row in fetched[:MAX_ROWS]]
                        truncated = len(fetched) > MAX_ROWS
                        blocks.append(TableBlock(columns, rows, truncated))
                        if len(rows) == 1 and len(columns) == 1:
                            summary = f"{columns[0]} = {rows[0][0]}"
                        else:
                            more = "+" if truncated else ""
                            summary = f"{len(rows)}{more} row{'s' if len(rows) != 1 else ''}"
                    else:
                        status = cur.statusmessage or "done"
                        blocks.append(TextBlock(status))
                        summary = status
            if read_only:
                conn.rollback()
    except psycopg.Error as exc:
        return _error(exc, start, command)
    return result("ok", summary, start, blocks=blocks, command=command)


class PostgresExecutor:
    """``psql -c`` lines and SQL text against PostgreSQL."""

    kind = "sql"

    def run(self, step: Step, resolved: Resolved, ctx: ExecContext) -> StepResult:
        start = now()
        read_only = step.safety == "read-only"
        try:
            command, _ = first_command(resolved) if _is_psql(resolved) else (None, [])
            if command is not None:
                call = parse_psql(command)
            else:
                if os.path.basename(resolved.template.split(None, 1)[0]) in ("mysql", "sqlite3"):
                    raise Unsupported("only PostgreSQL is run by opsbook; run this step by hand")
                call = PsqlCall(sql=[resolved.template])
            conn = _conninfo(call, resolved, ctx)
        except Unsupported as exc:
            return unavailable(str(exc), start, resolved.display)
        if conn.given:
            what = "the database a SQL step connects to"
            return refused(refusal(what, conn.given), start, resolved.display)
        try:
            params = _judged(conn, ctx)
        except Refused as exc:
            return refused(str(exc), start, resolved.display)
        except LookupError as exc:
            return result(
                "error", f"{exc}; check DATABASE_URL", start, retryable=True,
                command=resolved.display,
            )  # fmt: skip
        return run_sql(
            call.sql, resolved, conn.conninfo, params, ctx, read_only=read_only,
            command=resolved.display,
        )  # fmt: skip


def _is_psql(resolved: Resolved) -> bool:
    words = resolved.template.split(None, 1)
    return bool(words) and os.path.basename(words[0]) == "psql"
