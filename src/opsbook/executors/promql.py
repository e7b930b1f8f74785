"""The promql executor: an expression against the service's Prometheus (PROMETHEUS_URL).

Instant queries give a table; range vectors (``metric[5m]``) and steps with a
``range=1h step=1m`` hint give a table of the latest values plus a small chart.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import urlencode

import httpx

from opsbook.executors.common import Unsupported, now, result, unavailable
from opsbook.executors.http import send
from opsbook.executors.http_args import HttpRequest
from opsbook.executors.models import (
    SLOT,
    Block,
    ChartBlock,
    ExecContext,
    Resolved,
    StepResult,
    TableBlock,
    TextBlock,
)
from opsbook.executors.ssrf import Refused
from opsbook.runbooks.models import Step

URL_VARIABLES = ("PROMETHEUS_URL", "PROM_URL", "PROMETHEUS")
MAX_SERIES = 200
_HINT_RANGE = re.compile(r"\brange\s*=\s*(\d+[smhdw])\b")
_HINT_STEP = re.compile(r"\bstep\s*=\s*(\d+[smhdw])\b")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def seconds(duration: str) -> float:
    """``90s``, ``5m``, ``1h`` … as seconds."""
    return float(duration[:-1]) * _UNITS[duration[-1]]


def expression(resolved: Resolved) -> str:
    """The query with comment lines dropped and values put in (escaped inside label strings)."""
    out: list[str] = []
    in_string = ""
    template = "\n".join(
        line for line in resolved.template.splitlines() if not line.lstrip().startswith("#")
    ).strip()
    i = 0
    while i < len(template):
        c = template[i]
        m = SLOT.match(template, i)
        if m:
            value = resolved.values[int(m.group(1))]
            if in_string:
                value = value.replace("\\", "\\\\").replace(in_string, "\\" + in_string)
            out.append(value)
            i = m.end()
            continue
        if in_string and c == "\\":
            out.append(template[i : i + 2])
            i += 2
            continue
        if c in "\"'`":
            in_string = "" if in_string == c else (in_string or c)
        out.append(c)
        i += 1
    return "".join(out)


def _label(metric: dict[str, str]) -> str:
    name = metric.get("__name__", "")
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    return f"{name}{{{rest}}}" if rest else (name or "{}")


def _table(series: list[dict[str, Any]], value_of: Any) -> TableBlock:
    names = sorted({k for s in series for k in s.get("metric", {})} - {"__name__"})
    has_name = any("__name__" in s.get("metric", {}) for s in series)
    columns = (["__name__"] if has_name else []) + names + ["value"]
    rows = []
    for s in series[:MAX_SERIES]:
        metric = s.get("metric", {})
        rows.append(
            ([metric.get("__name__", "")] if has_name else [])
            + [metric.get(n, "") for n in names]
            + [value_of(s)]
        )
    return TableBlock(columns, rows, len(series) > MAX_SERIES)


def render(data: dict[str, Any], expr: str) -> tuple[str, list[Block]]:
    """(summary, blocks) for a Prometheus ``data`` object of any result type."""
    kind = data.get("resultType")
    res = data.get("result")
    if kind in ("scalar", "string"):
        value = str(res[1]) if isinstance(res, list) and len(res) > 1 else str(res)
        return f"{kind} = {value}", [TextBlock(value)]
    series: list[dict[str, Any]] = res or []
    if not series:
        return "no data: the query matched no series", [TextBlock("(no data)")]
    if kind == "matrix":
        table = _table(series, lambda s: s["values"][-1][1] if s.get("values") else "")
        chart = ChartBlock(
            expr,
            [
                {
                    "name": _label(s.get("metric", {})),
                    "points": [[float(t), float(v)] for t, v in s.get("values", [])],
                }
                for s in series[:MAX_SERIES]
            ],
        )
        return f"{len(series)} series over time; latest values in the table", [table, chart]
    table = _table(series, lambda s: s["value"][1])
    if len(series) == 1:
        return f"{_label(series[0].get('metric', {}))} = {series[0]['value'][1]}", [table]
    values = []
    for s in series:
        try:
            values.append(float(s["value"][1]))
        except (TypeError, ValueError):
            continue
    top = f"; max {max(values):g}" if values else ""
    return f"{len(series)} series{top}", [table]


class PromqlExecutor:
    """PromQL expressions against the Prometheus HTTP API."""

    kind = "promql"

    def run(self, step: Step, resolved: Resolved, ctx: ExecContext) -> StepResult:
        start = now()
        name = next((n for n in URL_VARIABLES if ctx.lookup(n)), None)
        base = ctx.lookup(name) if name else None
        if name and ctx.source(name) == "request":
            return result(
                "failed",
                "refused: the Prometheus a PromQL step asks comes from the service's config; "
                f"{name} was given in the request",
                start,
                command=resolved.display,
            )
        if not base:
            return unavailable(
                "no Prometheus to ask: set PROMETHEUS_URL in the service's variables "
                "(or --var PROMETHEUS_URL=http://host:9090)",
                start,
                resolved.display,
            )
        expr = expression(resolved)
        hint_source = f"{step.title}\n{resolved.text}"
        rng, stp = _HINT_RANGE.search(hint_source), _HINT_STEP.search(hint_source)
        base = base.rstrip("/")
        if rng:
            end = time.time()
            span = seconds(rng.group(1))
            step_s = seconds(stp.group(1)) if stp else max(span / 60, 1.0)
            query = {
                "query": expr,
                "start": f"{end - span:.3f}",
                "end": f"{end:.3f}",
                "step": f"{step_s:g}",
            }
            url = f"{base}/api/v1/query_range?{urlencode(query)}"
        else:
            url = (
                f"{base}/api/v1/query?{urlencode({'query': expr, 'timeout': f'{ctx.timeout:g}s'})}"
            )
        command = (
            f"{resolved.display}  [{'range ' + rng.group(1) if rng else 'instant'} query at {base}]"
        )
        try:
            resp = send(HttpRequest(url=url, headers=[("Accept", "application/json")]), ctx)
            payload = json.loads(resp.body or b"{}")
        except Refused as exc:
            return result("failed", f"refused: {exc}", start, command=command)
        except httpx.TimeoutException:
            return result(
                "timeout",
                f"Prometheus did not answer within {ctx.timeout:g} s",
                start,
                retryable=True,
                command=command,
            )
        except (httpx.HTTPError, LookupError) as exc:
            return result(
                "error", f"cannot reach Prometheus at {base}: {exc}; check PROMETHEUS_URL", start,
                retryable=True, command=command,
            )  # fmt: skip
        except ValueError:
            return result(
                "error",
                f"Prometheus answered {resp.status} without JSON",
                start,
                retryable=resp.status >= 500,
                command=command,
            )
        if payload.get("status") != "success":
            error = payload.get("error") or f"HTTP {resp.status}"
            if payload.get("errorType") == "timeout":
                return result(
                    "timeout", f"query timed out: {error}", start, retryable=True, command=command
                )
            return result(
                "failed" if resp.status < 500 else "error",
                f"query error ({payload.get('errorType', 'error')}): {error}",
                start,
                retryable=resp.status >= 500,
                command=command,
            )
        try:
            summary, blocks = render(payload.get("data", {}), expr)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise Unsupported(f"unexpected Prometheus answer: {exc}") from exc
        return result("ok", summary, start, blocks=blocks, command=command)
