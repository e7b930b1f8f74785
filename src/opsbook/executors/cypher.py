"""The cypher executor: ``cypher-shell`` lines and bare Cypher, with two backends behind one
interface — Bolt (the neo4j driver) for ``bolt://``/``neo4j://`` and FalkorDB for
``falkor://``/``redis://`` (or a FALKORDB_URL variable). Values are Cypher parameters."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from opsbook.executors.common import Command, Unsupported, first_command, now, result, unavailable
from opsbook.executors.models import SLOT, ExecContext, Resolved, StepResult, TableBlock
from opsbook.executors.ssrf import Refused, judge, url_host
from opsbook.executors.targets import given_in, refusal, refused, url_variable
from opsbook.runbooks.models import Step

MAX_ROWS = 200
DEFAULT_GRAPH = "opsbook"
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class CypherCall:
    """What a ``cypher-shell`` line asks for; ``queries`` are templates with value markers."""

    uri: str | None = None
    user: str | None = None
    password: str | None = None
    database: str | None = None
    queries: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    """Template pieces of ``-a``/``-d`` (who gave which part of the target)."""


def parse_cypher_shell(command: Command) -> CypherCall:
    """``cypher-shell -a URI -u U -p P [-d DB] "query"``; ``-f FILE`` is refused."""
    call = CypherCall()
    words, template = command.words, command.template
    i = 1
    while i < len(words):
        w = words[i]
        name, eq, inline = w.partition("=") if w.startswith("--") else (w, "", "")

        def value(name: str = name, eq: str = eq, inline: str = inline) -> str:
            nonlocal i
            if eq:
                return inline
            i += 1
            if i >= len(words):
                raise Unsupported(f"cypher-shell option {name} needs a value")
            return words[i]

        if name in ("-a", "--address", "--uri"):
            call.targets.append(template[i])
            call.uri = value()
            call.targets.append(template[i] if i < len(template) else "")
        elif name in ("-u", "--username"):
            call.user = value()
        elif name in ("-p", "--password"):
            call.password = value()
        elif name in ("-d", "--database"):
            call.targets.append(template[i])
            call.database = value()
            call.targets.append(template[i] if i < len(template) else "")
        elif name in ("-f", "--file"):
            raise Unsupported(
                "cypher-shell -f runs a file; opsbook runs Cypher written in the runbook only"
            )
        elif name in ("--format", "--encryption", "-P", "--param", "--log", "--access-mode"):
            value()
        elif w.startswith("-"):
            pass
        else:
            call.queries.append(template[i])
        i += 1
    if not call.queries:
        raise Unsupported("cypher-shell without a query is an interactive session; run it by hand")
    return call


def bind_cypher(template: str, resolved: Resolved) -> list[tuple[str, dict[str, Any]]]:
    """Statements (split at ``;``) with every value as a ``$vN`` parameter: a whole string
    literal holding a value becomes one parameter; a bare number is written as a number."""
    out: list[tuple[str, dict[str, Any]]] = []
    query: list[str] = []
    params: dict[str, Any] = {}
    i, n = 0, len(template)
    while i < n:
        c = template[i]
        if c in "'\"":
            j = i + 1
            while j < n and template[j] != c:
                j += 2 if template[j] == "\\" else 1
            literal = template[i : j + 1]
            if SLOT.search(literal):
                key = f"v{len(params)}"
                inner = literal[1:-1].replace("\\" + c, c)
                params[key] = resolved.fill(inner)
                query.append(f"${key}")
            else:
                query.append(literal)
            i = j + 1
        elif c == "`":
            j = template.find("`", i + 1)
            j = n - 1 if j < 0 else j
            ident = template[i : j + 1]
            for idx in Resolved.slots(ident):
                if not _IDENT.fullmatch(resolved.values[idx]):
                    raise Unsupported("a variable used as a Cypher name must be a plain identifier")
            query.append(resolved.fill(ident))
            i = j + 1
        elif c == "\x00" and (m := SLOT.match(template, i)):
            value = resolved.values[int(m.group(1))]
            if _NUMBER.fullmatch(value):
                query.append(value)
            else:
                key = f"v{len(params)}"
                params[key] = value
                query.append(f"${key}")
            i = m.end()
        elif c == ";":
            text = "".join(query).strip()
            if text:
                out.append((text, params))
            query, params = [], {}
            i += 1
        else:
            query.append(c)
            i += 1
    text = "".join(query).strip()
    if text:
        out.append((text, params))
    return out


class Backend(Protocol):
    """One graph database connection: run a query, get (columns, rows)."""

    def run(
        self, query: str, params: dict[str, Any], read_only: bool
    ) -> tuple[list[str], list[list[str]], bool]: ...

    def close(self) -> None: ...


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


class FalkorBackend:
    """FalkorDB over the Redis protocol; read-only steps use GRAPH.RO_QUERY."""

    def __init__(self, uri: str, ctx: ExecContext, graph: str | None, address: str) -> None:
        from falkordb import FalkorDB

        parts = urlsplit(uri)
        path = parts.path.strip("/")
        name = (
            graph
            or (path if path and not path.isdigit() else None)
            or ctx.lookup("GRAPH")
            or DEFAULT_GRAPH
        )
        tls = parts.scheme in ("falkors", "rediss")
        self.db = FalkorDB(
            host=(parts.hostname or address) if tls else address,
            port=parts.port or 6379,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            socket_timeout=ctx.timeout,
            socket_connect_timeout=min(ctx.timeout, 10.0),
            ssl=tls,
        )
        self.graph = self.db.select_graph(name)
        self.timeout_ms = max(1, int(ctx.timeout * 1000))

    def run(
        self, query: str, params: dict[str, Any], read_only: bool
    ) -> tuple[list[str], list[list[str]], bool]:
        call = self.graph.ro_query if read_only else self.graph.query
        res = call(query, params or None, timeout=self.timeout_ms)
        columns = [
            _text(h[1]) if isinstance(h, list | tuple) else _text(h) for h in (res.header or [])
        ]
        rows = [[_cell(v) for v in row] for row in (res.result_set or [])]
        return columns, rows[:MAX_ROWS], len(rows) > MAX_ROWS

    def close(self) -> None:
        self.db.connection.close()


class BoltBackend:
    """Neo4j (or any Bolt server) through the official driver, pinned to the judged addresses
    (the driver's resolver answers with them instead of asking DNS again)."""

    def __init__(
        self,
        uri: str,
        user: str | None,
        password: str | None,
        database: str | None,
        ctx: ExecContext,
        addresses: list[str] | None = None,
    ) -> None:
        import neo4j

        pinned = list(addresses or [])

        def resolver(address: Any) -> list[Any]:
            if not pinned:
                return [address]
            return [neo4j.Address((a, address.port)) for a in pinned]

        auth = (user or "neo4j", password or "") if (user or password) else None
        self.driver = neo4j.GraphDatabase.driver(
            uri,
            auth=auth,
            connection_timeout=min(ctx.timeout, 10.0),
            max_transaction_retry_time=0,  # one attempt within the step timeout; a failure is retryable
            resolver=resolver,
        )
        self.database = database
        self.timeout = ctx.timeout

    def run(
        self, query: str, params: dict[str, Any], read_only: bool
    ) -> tuple[list[str], list[list[str]], bool]:
        import neo4j

        def work(tx: Any) -> tuple[list[str], list[list[str]], bool]:
            res = tx.run(query, params)
            columns = list(res.keys())
            rows: list[list[str]] = []
            truncated = False
            for record in res:
                if len(rows) >= MAX_ROWS:
                    truncated = True
                    break
                rows.append([_cell(v) for v in record.values()])
            return columns, rows, truncated

        work_ = neo4j.unit_of_work(timeout=self.timeout)(work)
        with self.driver.session(database=self.database) as session:
            if read_only:
                return session.execute_read(work_)
            return session.execute_write(work_)

    def close(self) -> None:
        self.driver.close()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _backend(call: CypherCall, resolved: Resolved, ctx: ExecContext) -> Backend:
    """The judged graph database of a call; raises Refused, LookupError or Unsupported."""
    given = given_in(call.targets, resolved, ctx)
    uri = call.uri
    if not uri:
        name, uri = url_variable(ctx, ("FALKORDB_URL", "NEO4J_URI", "NEO4J_URL"))
        if name and ctx.source(name) == "request":
            given.append(name)
    if ctx.source("GRAPH") == "request":
        given.append("GRAPH")
    if given:
        raise Refused(refusal("the graph database a Cypher step connects to", given))
    if not uri:
        raise Unsupported(
            "no graph database to connect to: set NEO4J_URI (bolt://…) or FALKORDB_URL "
            "(falkor://host:port/graph) in the service's variables"
        )
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else "bolt"
    uri = uri if "://" in uri else f"bolt://{uri}"
    raw, port = url_host(uri)
    falkor = scheme in ("falkor", "falkors", "redis", "rediss")
    if not falkor and not scheme.startswith(("bolt", "neo4j")):
        raise Unsupported(
            f"unknown graph database scheme {scheme}://; use bolt://, neo4j:// or falkor://"
        )
    default_port = 6379 if falkor else 7687
    _, addresses = judge(raw or "localhost", port or default_port, ctx, what="the graph database")
    if falkor:
        return FalkorBackend(uri, ctx, None, addresses[0])
    user = call.user or ctx.lookup("NEO4J_USER") or ctx.lookup("NEO4J_USERNAME")
    password = call.password or ctx.lookup("NEO4J_PASSWORD")
    return BoltBackend(uri, user, password, call.database, ctx, addresses)


def _error(exc: Exception, start: float, command: str) -> StepResult:
    name = type(exc).__name__
    msg = " ".join(str(exc).split()) or name
    if "Timeout" in name or "timed out" in msg.lower():
        return result(
            "timeout",
            f"the graph database did not answer in time: {msg}",
            start,
            retryable=True,
            command=command,
        )
    if "read-only" in msg.lower() or "RO_QUERY" in msg or "write queries" in msg.lower():
        return result(
            "failed",
            f"refused: this step is classified read-only but the query writes ({msg}); nothing was changed",
            start,
            command=command,
        )
    if (
        name in ("ConnectionError", "ServiceUnavailable", "SessionExpired")
        or "connect" in msg.lower()
    ):
        return result(
            "error", f"cannot connect to the graph database: {msg}; check NEO4J_URI/FALKORDB_URL and that it is up",
            start, retryable=True, command=command,
        )  # fmt: skip
    if name in ("AuthError", "AuthenticationError"):
        return result(
            "error", f"the graph database refused the credentials: {msg}", start, command=command
        )
    if "empty key" in msg:
        msg += " (the graph does not exist: check the graph name in the URL path or GRAPH)"
    return result("failed", f"Cypher error: {msg}", start, command=command)


class CypherExecutor:
    """``cypher-shell`` lines and Cypher text."""

    kind = "cypher"

    def run(self, step: Step, resolved: Resolved, ctx: ExecContext) -> StepResult:
        start = now()
        try:
            if resolved.template.split(None, 1)[0].rsplit("/", 1)[-1] == "cypher-shell":
                command, _ = first_command(resolved)
                call = parse_cypher_shell(command)
            else:
                call = CypherCall(queries=[resolved.template])
            statements = [s for q in call.queries for s in bind_cypher(q, resolved)]
            if not statements:
                raise Unsupported("no Cypher statement to run")
            backend = _backend(call, resolved, ctx)
        except Unsupported as exc:
            return unavailable(str(exc), start, resolved.display)
        except Refused as exc:
            return refused(str(exc), start, resolved.display)
        except LookupError as exc:
            return result(
                "error", f"{exc}; check NEO4J_URI/FALKORDB_URL", start, retryable=True,
                command=resolved.display,
            )  # fmt: skip
        read_only = step.safety == "read-only"
        tables: list[TableBlock] = []
        try:
            try:
                for query, params in statements:
                    columns, rows, truncated = backend.run(query, params, read_only)
                    tables.append(TableBlock(columns, rows, truncated))
            finally:
                backend.close()
        except Exception as exc:  # noqa: BLE001 - two drivers, many error types: sorted in _error
            return _error(exc, start, resolved.display)
        last = tables[-1]
        if len(last.rows) == 1 and len(last.columns) == 1:
            summary = f"{last.columns[0]} = {last.rows[0][0]}"
        else:
            summary = f"{len(last.rows)}{'+' if last.truncated else ''} row{'s' if len(last.rows) != 1 else ''}"
        return result("ok", summary, start, blocks=tables, command=resolved.display)
