"""SLO burn-rate alerts: ask Prometheus for the error ratio over each window, decide with
``checks.burn``, and raise (or resolve) a page or a ticket through the intake pipeline with the
error budget left in its annotations. Scheduled by ``flows.checks`` like a check."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import structlog
from sqlalchemy.orm import Session, sessionmaker

from opsbook.checks.burn import SloStatus, decide, error_ratio_expr, prom_duration, range_windows
from opsbook.checks.evaluate import MissingSetting, fill, first_value
from opsbook.config.checks import Slo
from opsbook.config.models import Config, Service
from opsbook.core.clock import Clock, isoformat
from opsbook.executors import ExecContext, execute
from opsbook.flows.steps import context_for
from opsbook.intake.models import EventAction
from opsbook.runbooks.models import Step
from opsbook.storage.tables_checks import CheckStateRow

log = structlog.get_logger("opsbook.slos")


class SloQueryError(RuntimeError):
    """Prometheus could not answer: the SLO keeps its previous state."""


def find_slo(config: Config, tenant: str, service: str, name: str) -> tuple[Service, Slo]:
    svc = config.service(tenant, service)
    slo = next((x for x in svc.slos if x.name == name), None) if svc else None
    if svc is None or slo is None:
        raise LookupError(f"no SLO {name!r} on service {service!r}")
    return svc, slo


def error_ratios(slo: Slo, ctx: ExecContext) -> dict[timedelta, float]:
    """The error ratio over each window the SLO needs (NaN when there was no traffic)."""
    try:
        url = fill(slo.prometheus, ctx.lookup)
    except MissingSetting as exc:
        raise SloQueryError(str(exc)) from None
    ctx = replace(
        ctx,
        variables={**ctx.variables, "PROMETHEUS_URL": url},
        allowed_hosts=ctx.allowed_hosts | {urlsplit(url).hostname or ""},
    )
    out: dict[timedelta, float] = {}
    for d in range_windows(slo):
        expr = error_ratio_expr(slo, prom_duration(d))
        step = Step(line=0, title=f"SLO {slo.name}", text=expr, executable=True, kind="promql",
                    inner_kind=None, safety="read-only", reason="SLO evaluation")  # fmt: skip
        res = execute(step, ctx)
        if not res.ok:
            raise SloQueryError(res.summary)
        cell = first_value(res)
        try:
            out[d] = float(cell) if cell is not None else math.nan
        except ValueError:
            out[d] = math.nan
    return out


def _pct(value: float | None) -> str:
    return "unknown" if value is None else f"{value * 100:.2f}%"


def status_dict(status: SloStatus) -> dict[str, Any]:
    """An evaluation as stored and shown by the API."""
    return {
        "compliance": status.compliance,
        "budget_remaining": status.budget_remaining,
        "burn_rates": dict(status.burn_rates),
        "action": status.action,
        "windows": [
            {"long": prom_duration(d.window.long), "short": prom_duration(d.window.short),
             "burn": d.window.burn, "action": d.window.action, "long_burn": d.long_burn,
             "short_burn": d.short_burn, "firing": d.firing}
            for d in status.decisions
        ],
    }  # fmt: skip


def slo_labels(svc: Service, slo: Slo, action: str) -> dict[str, str]:
    severity = slo.page_severity if action == "page" else slo.ticket_severity
    return {
        **slo.labels,
        "alertname": slo.alert,
        "service": svc.name,
        "slo": slo.name,
        "action": action,
        "severity": severity.value,
    }


def apply_status(
    s: Session, config: Config, svc: Service, slo: Slo, row: CheckStateRow,
    status: SloStatus, now: datetime, finder: Any = None,
) -> list[str]:  # fmt: skip
    """Store an evaluation; raise the new page/ticket and resolve the old one when the action
    changes. Returns what happened (``page``, ``ticket``, ``resolve:page`` …)."""
    from opsbook.flows.checks import raise_alert

    before = row.status if row.status in ("page", "ticket") else None
    after = status.action
    row.last_run_at = now
    row.last_result = status_dict(status)
    row.history = [*(row.history or []), {"at": isoformat(now), "action": after,
                                          "burn_rates": dict(status.burn_rates)}][-20:]  # fmt: skip
    done: list[str] = []
    if before == after:
        if row.status == "unknown":
            row.status, row.since = after or "ok", now
        return done
    group_by = ["alertname", "slo", "action"]
    if before is not None:
        labels = slo_labels(svc, slo, before)
        raise_alert(s, config, svc, labels, {"summary": f"{svc.name} SLO {slo.name} recovered"},
                    EventAction.RESOLVE, now, finder=finder, group_by=group_by)  # fmt: skip
        done.append(f"resolve:{before}")
    if after is not None:
        fast = max((d for d in status.decisions if d.firing), key=lambda d: d.window.burn)
        annotations = {
            "summary": (
                f"{svc.name} SLO {slo.name}: error budget burning {fast.long_burn:.1f}x "
                f"({prom_duration(fast.window.long)}) / {fast.short_burn:.1f}x "
                f"({prom_duration(fast.window.short)}), {_pct(status.budget_remaining)} left"
            ),
            "budget_remaining": _pct(status.budget_remaining),
            "compliance": _pct(status.compliance),
            "objective": f"{slo.objective:g}",
            "burn_rate": f"{fast.long_burn:.2f}",
        }
        alert = raise_alert(s, config, svc, slo_labels(svc, slo, after), annotations,
                            EventAction.TRIGGER, now, finder=finder, group_by=group_by)  # fmt: skip
        row.fingerprint = alert.fingerprint
        done.append(after)
    row.status = after or "ok"
    row.since = now
    log.info("slo_changed", slo=slo.name, service=svc.name, before=before, after=after)
    return done


def evaluate_and_record(
    sessions: sessionmaker[Session], config: Config, tenant: str, service: str, name: str,
    token: str | None, clock: Clock, finder: Any = None,
) -> list[str]:  # fmt: skip
    """Evaluate one SLO against Prometheus and store/raise the outcome (fenced by ``token``)."""
    try:
        svc, slo = find_slo(config, tenant, service, name)
    except LookupError:
        return []
    error: str | None = None
    status: SloStatus | None = None
    try:
        status = decide(slo, error_ratios(slo, context_for(svc, {})))
    except SloQueryError as exc:
        error = str(exc)
    with sessions.begin() as s:
        row = s.get(CheckStateRow, (tenant, service, "slo", name), with_for_update=True)
        if row is None or (token is not None and row.lease_token != token):
            return []
        row.lease_until, row.lease_token = None, None
        if status is None:
            row.last_run_at = clock.now()
            row.last_result = {**(row.last_result or {}), "error": error}
            log.warning("slo_evaluation_failed", slo=name, service=service, error=error)
            return []
        return apply_status(s, config, svc, slo, row, status, clock.now(), finder)


def slo_views(
    config: Config, rows: dict[tuple[str, str], CheckStateRow], tenant: str | None
) -> list[dict[str, Any]]:
    """Each configured SLO with its last evaluation (API, CLI)."""
    out = []
    for svc in config.services:
        if tenant is not None and svc.tenant != tenant:
            continue
        for slo in svc.slos:
            row = rows.get((svc.name, slo.name))
            last = dict(row.last_result or {}) if row else {}
            out.append({
                "tenant": svc.tenant, "service": svc.name, "name": slo.name,
                "sli": "latency" if slo.latency else "availability",
                "objective": slo.objective, "window": prom_duration(slo.window),
                "status": row.status if row else "unknown",
                "compliance": last.get("compliance"),
                "budget_remaining": last.get("budget_remaining"),
                "burn_rates": last.get("burn_rates", {}),
                "windows": last.get("windows", []),
                "error": last.get("error"),
                "evaluated_at": isoformat(row.last_run_at) if row else None,
            })  # fmt: skip
    return out
