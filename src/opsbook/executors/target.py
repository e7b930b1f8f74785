"""Where a resolved step will connect, in words an approver checks: ``http://api.internal:8000``,
``postgresql://db.internal:5432/app``, ``redis://127.0.0.1:6379/0`` or ``local process``.

Read the same way each executor reads its command and context (the same parsers and URL
variables), never connecting to anything; credentials are left out of what is shown.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from opsbook.executors import cypher, postgres, promql, redis
from opsbook.executors.common import Unsupported, first_command
from opsbook.executors.http_args import parse_http_command
from opsbook.executors.models import ExecContext, Resolved
from opsbook.runbooks.models import Step

LOCAL = "local process"
_PROCESS_KINDS = ("shell", "kubectl", "docker", "python")


def _where(url: str, default_scheme: str = "") -> str:
    """``scheme://host:port/path`` of a URL or DSN, without user, password or query."""
    raw = url.strip()
    if "://" not in raw:
        if "=" in raw:  # a libpq keyword DSN: host=… port=… dbname=…
            parts = dict(p.partition("=")[::2] for p in raw.split())
            return _where(
                f"postgresql://{parts.get('host', 'localhost')}:{parts.get('port', '5432')}"
                f"/{parts.get('dbname', '')}"
            )
        raw = f"{default_scheme}://{raw}" if default_scheme else raw
    try:
        u = urlsplit(raw)
        host, port = u.hostname or "", u.port
    except ValueError:
        return "an address opsbook cannot read"
    if not host:
        return "no host given"
    shown = f"[{host}]" if ":" in host else host
    netloc = f"{shown}:{port}" if port else shown
    return f"{u.scheme}://{netloc}{u.path}" if u.scheme else netloc


def _first_url(ctx: ExecContext, names: tuple[str, ...]) -> str | None:
    return next((v for n in names if (v := ctx.lookup(n))), None)


def _sql(resolved: Resolved, ctx: ExecContext) -> str:
    words = resolved.template.split(None, 1)
    if words and words[0].rsplit("/", 1)[-1] == "psql":
        command, _ = first_command(resolved)
        call = postgres.parse_psql(command)
        if call.conninfo:
            return _where(call.conninfo)
        if call.params.get("host"):
            p = call.params
            return _where(f"postgresql://{p['host']}:{p.get('port', '5432')}/{p.get('dbname', '')}")
    url = _first_url(ctx, postgres.URL_VARIABLES)
    return _where(postgres.libpq_url(url)) if url else "no database configured"


def _redis(resolved: Resolved, ctx: ExecContext) -> str:
    command, _ = first_command(resolved)
    if command.words[0].rsplit("/", 1)[-1] == "redis-cli":
        call = redis.parse_redis_cli(command.words)
        if call.url:
            return _where(call.url, "redis")
        if call.host:
            return f"redis://{call.host}:{call.port or 6379}/{call.db or 0}"
    url = _first_url(ctx, redis.URL_VARIABLES)
    return _where(url, "redis") if url else "no Redis configured"


def _cypher(resolved: Resolved, ctx: ExecContext) -> str:
    uri = None
    command, _ = first_command(resolved)
    if command.words[0].rsplit("/", 1)[-1] == "cypher-shell":
        uri = cypher.parse_cypher_shell(command).uri
    uri = uri or _first_url(ctx, ("FALKORDB_URL", "NEO4J_URI", "NEO4J_URL"))
    return _where(uri, "bolt") if uri else "no graph database configured"


def describe_target(step: Step, resolved: Resolved, ctx: ExecContext) -> str:
    """Where ``step`` (already resolved) will connect, or ``local process`` for programs run
    here; a command the executor would refuse says so instead of guessing."""
    try:
        if step.kind == "http":
            command, _ = first_command(resolved)
            return _where(parse_http_command(command.words).url, "http")
        if step.kind == "sql":
            return _sql(resolved, ctx)
        if step.kind == "redis":
            return _redis(resolved, ctx)
        if step.kind == "cypher":
            return _cypher(resolved, ctx)
        if step.kind == "promql":
            url = _first_url(ctx, promql.URL_VARIABLES)
            return _where(url, "http") if url else "no Prometheus configured"
    except (Unsupported, ValueError) as exc:
        return f"not run by opsbook as written: {exc}"
    if step.kind == "kubectl":
        cluster = f"kube context {ctx.kube_context}" if ctx.kube_context else "current kube context"
        where = f", namespace {ctx.namespace}" if ctx.namespace else ""
        return f"{LOCAL}: kubectl on the opsbook host, its {cluster}{where}"
    if step.kind in _PROCESS_KINDS:
        return LOCAL
    return "not run by opsbook"
