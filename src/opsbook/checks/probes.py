"""Run one check's probe and say whether the thing is healthy — the only I/O in ``checks``.

Every probe goes through :mod:`opsbook.executors` (SSRF guard, timeouts, redaction, read-only
transactions), so a check is exactly as safe as the equivalent runbook step. A probe never
raises: a failure is a ``StepResult`` whose status is not ``ok``.
"""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlsplit

from opsbook.checks.evaluate import (
    MissingSetting,
    as_number,
    breaches,
    fill,
    first_value,
    table_fields,
)
from opsbook.config.checks import Check, HttpProbe, PromqlProbe, QueryProbe, RedisProbe, TcpProbe
from opsbook.executors import ExecContext, StepResult, check_http, execute
from opsbook.executors.common import now, result
from opsbook.runbooks.models import Step

_URL_VARIABLE = {"redis": "REDIS_URL", "postgres": "DATABASE_URL", "cypher": "FALKORDB_URL",
                 "promql": "PROMETHEUS_URL"}  # fmt: skip
_STEP_KIND = {"redis": "redis", "postgres": "sql", "cypher": "cypher", "promql": "promql"}


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def _step(check: Check, kind: str, text: str) -> Step:
    return Step(
        line=0, title=f"check {check.name}", text=text, executable=True, kind=kind,
        inner_kind=None, safety="read-only", reason="health check (read-only by definition)",
    )  # fmt: skip


def _with_url(ctx: ExecContext, kind: str, url: str, timeout: timedelta) -> ExecContext:
    return replace(
        ctx,
        variables={**ctx.variables, _URL_VARIABLE[kind]: url},
        allowed_hosts=ctx.allowed_hosts | {_host(url)},
        timeout=timeout.total_seconds(),
    )


def _fail(res: StepResult, summary: str) -> StepResult:
    return replace(res, status="failed", summary=summary, retryable=True)


def _tcp(probe: TcpProbe, ctx: ExecContext, timeout: float) -> StepResult:
    start = now()
    host = fill(probe.host, ctx.lookup)
    try:
        with socket.create_connection((host, probe.port), timeout=timeout):
            pass
    except TimeoutError:
        return result("timeout", f"{host}:{probe.port} did not accept in {timeout:g} s", start,
                      retryable=True, command=f"tcp {host}:{probe.port}")  # fmt: skip
    except OSError as exc:
        return result("error", f"cannot connect to {host}:{probe.port}: {exc}", start,
                      retryable=True, command=f"tcp {host}:{probe.port}")  # fmt: skip
    return result("ok", f"{host}:{probe.port} accepts connections", start,
                  command=f"tcp {host}:{probe.port}")  # fmt: skip


def _http(probe: HttpProbe, ctx: ExecContext) -> StepResult:
    url = fill(probe.url, ctx.lookup)
    return check_http(
        url,
        expect_status=probe.status,
        max_latency_ms=probe.max_latency.total_seconds() * 1000 if probe.max_latency else None,
        json_path_equals=probe.json_path or None,
        body_contains=probe.body_contains,
        ctx=replace(ctx, allowed_hosts=ctx.allowed_hosts | {_host(url)}),
        method=probe.method,
        headers={k: fill(v, ctx.lookup) for k, v in probe.headers.items()},
    )


def _redis(check: Check, probe: RedisProbe, ctx: ExecContext) -> StepResult:
    ctx = _with_url(ctx, "redis", fill(probe.url, ctx.lookup), check.timeout)
    res = execute(_step(check, "redis", "PING"), ctx)
    if not res.ok or not probe.fail_if:
        return res
    info = execute(_step(check, "redis", "INFO"), ctx)
    if not info.ok:
        return info
    fields = table_fields(info)
    problems = []
    for name, threshold in probe.fail_if.items():
        value = as_number(fields.get(name))
        if value is None:
            problems.append(f"INFO has no numeric {name}")
        elif breaches(value, threshold):
            problems.append(f"{name} = {fields[name]} ({threshold})")
    if problems:
        return _fail(info, "unhealthy: " + "; ".join(problems))
    shown = ", ".join(f"{n} = {fields.get(n)}" for n in probe.fail_if)
    return replace(info, summary=f"PONG; {shown}", duration_ms=res.duration_ms + info.duration_ms)


def _query(check: Check, probe: QueryProbe, ctx: ExecContext) -> StepResult:
    kind = check.kind
    ctx = _with_url(ctx, kind, fill(probe.url, ctx.lookup), check.timeout)
    res = execute(_step(check, _STEP_KIND[kind], fill(probe.query, ctx.lookup)), ctx)
    if not res.ok:
        return res
    cell = first_value(res)
    if cell is None:
        if isinstance(probe, PromqlProbe) and probe.absent_fails:
            return _fail(res, "unhealthy: the query returned no data")
        return res
    if probe.fail_if is None:
        return res
    value = as_number(cell)
    if value is None:
        return _fail(res, f"unhealthy: {cell!r} is not a number to compare with {probe.fail_if}")
    if breaches(value, probe.fail_if):
        return _fail(res, f"unhealthy: value {cell} ({probe.fail_if})")
    return replace(res, summary=f"healthy: value {cell}")


def run_probe(check: Check, ctx: ExecContext) -> StepResult:
    """Probe once; ``ok`` means healthy. Never raises."""
    start = now()
    probe = check.probe
    try:
        if isinstance(probe, HttpProbe):
            return _http(probe, replace(ctx, timeout=check.timeout.total_seconds()))
        if isinstance(probe, TcpProbe):
            return _tcp(probe, ctx, check.timeout.total_seconds())
        if isinstance(probe, RedisProbe):
            return _redis(check, probe, ctx)
        return _query(check, probe, ctx)
    except MissingSetting as exc:
        return result("unavailable", f"cannot run the check: {exc}", start)
    except Exception as exc:  # noqa: BLE001 - a broken probe is an unhealthy result, not a crash
        return result("error", f"the check failed unexpectedly ({type(exc).__name__}: {exc})",
                      start)  # fmt: skip
