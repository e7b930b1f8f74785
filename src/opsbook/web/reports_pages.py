"""The reports page ``/ui/reports``: MTTA, MTTD, MTTR and the rest against the targets, as numbers
and as server-rendered SVG charts (``web/svg.py``; no JavaScript chart library).

The figures are those of ``GET /api/v1/reports`` (``flows.reports`` → ``reports.compute``) for
incidents opened in the last 7, 30 or 90 days. The charts split that period into buckets that end
at "now" (days for 7d, weeks otherwise) and compute each bucket with the same ``figures``
function, so a bar is exactly the report of its own days. Viewers and above may read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from opsbook.api.auth import state_of
from opsbook.core.errors import OpsbookError
from opsbook.flows.reports import load_records
from opsbook.incidents.models import Severity
from opsbook.reports.compute import Figures, Report, compute_report, figures
from opsbook.reports.models import IncidentRecord, Period, StepRecord
from opsbook.reports.stats import TimeStats
from opsbook.reports.targets import TargetCheck
from opsbook.storage.db import translate_errors
from opsbook.web.auth import signed_in
from opsbook.web.pages import base, error_page, to_login
from opsbook.web.render import page
from opsbook.web.sessions import SignedIn
from opsbook.web.svg import Bar, column_chart, row_chart

router = APIRouter()

PERIODS: dict[str, tuple[timedelta, timedelta, str]] = {
    "7d": (timedelta(days=7), timedelta(days=1), "day"),
    "30d": (timedelta(days=30), timedelta(weeks=1), "week"),
    "90d": (timedelta(days=90), timedelta(weeks=1), "week"),
}
DEFAULT_SINCE = "30d"
NOISY_SHOWN = 10


def duration_text(seconds: float | None) -> str:
    """A duration as a report states it: ``45s``, ``16m 15s``, ``2h 05m``, ``1d 3h``; ``–`` if none."""
    if seconds is None:
        return "–"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def short_duration(seconds: float) -> str:
    """A compact axis/bar label: ``45s``, ``4.5m``, ``16m``, ``1.5h``, ``2d``."""

    def trim(x: float) -> str:
        return f"{x:.1f}".rstrip("0").rstrip(".")

    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 600:
        return f"{trim(seconds / 60)}m"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400:
        return f"{trim(seconds / 3600)}h"
    return f"{trim(seconds / 86400)}d"


def percent(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.1f} %"


def count(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class Bucket:
    """One bar's slice of the period and the figures of the incidents opened in it."""

    start: datetime
    end: datetime
    label: str
    all: Figures
    by_severity: dict[str, Figures]


@dataclass(frozen=True)
class TargetRow:
    """A target as the page shows it: the goal, the actual figure, met / missed / no data."""

    name: str
    goal: str
    actual: str
    met: bool | None


def buckets(
    incidents: Sequence[IncidentRecord],
    steps: Sequence[StepRecord],
    period: Period,
    step: timedelta,
    as_of: datetime,
) -> list[Bucket]:
    """The period cut into ``step``-long slices ending at its end (the oldest may be shorter)."""
    edges = [period.end]
    while edges[-1] - step > period.start:
        edges.append(edges[-1] - step)
    edges.append(period.start)
    edges.reverse()
    out = []
    for start, end in pairwise(edges):
        mine = [i for i in incidents if start <= i.created_at < end]
        sev = {s.value: figures([i for i in mine if i.severity == s.value], steps, as_of)
               for s in Severity}  # fmt: skip
        out.append(Bucket(start, end, start.strftime("%b %d"), figures(mine, steps, as_of), sev))
    return out


def _time_bars(bs: Sequence[Bucket], metric: str, severity: str | None, unit: str) -> list[Bar]:
    bars = []
    for b in bs:
        f = b.by_severity[severity] if severity else b.all
        stats: TimeStats = getattr(f, metric)
        note = f"{stats.count} incident{'' if stats.count == 1 else 's'}, {unit} of {b.label}"
        bars.append(Bar(b.label, stats.mean, note))
    return bars


def _target_of(report: Report, metric: str) -> TargetCheck | None:
    return next((t for t in report.targets if t.target.metric == metric), None)


def charts(
    report: Report, bs: Sequence[Bucket], unit: str, ack_deadline: timedelta
) -> list[dict[str, Any]]:
    """The page's charts: MTTA, MTTD and MTTR per bucket with their target lines, incidents per
    severity, and the noisiest alerts. Each comes with a caption for the ``<figure>``."""
    out: list[dict[str, Any]] = []
    mtta_line = ack_deadline.total_seconds()
    out.append({
        "caption": f"Mean time to acknowledge per {unit}, all incidents; dashed: the P0 "
                   f"acknowledgement deadline ({duration_text(mtta_line)}).",
        "svg": column_chart(
            "chart-mtta", f"Mean time to acknowledge per {unit}",
            f"Bars: mean seconds from opened to acknowledged of the incidents opened each "
            f"{unit}; a dash marks a {unit} without data. Dashed line: P0 deadline "
            f"{duration_text(mtta_line)}.",
            _time_bars(bs, "mtta", None, unit), short_duration, target=mtta_line,
            target_label=f"P0 deadline {short_duration(mtta_line)}",
        ),
    })  # fmt: skip
    for metric, long in (("mttd", "detect"), ("mttr", "resolve")):
        check = _target_of(report, metric)
        sev = check.target.severity if check else None
        goal = check.target.value if check else None
        scope = f"{sev} incidents" if sev else "all incidents"
        line = f"target {check.target.describe()}" if check else ""
        title = f"Mean time to {long} per {unit}{f' ({sev})' if sev else ''}"
        out.append({
            "caption": f"Mean time to {long} per {unit}, {scope}"
                       + (f"; dashed: the {line}." if check else "."),
            "svg": column_chart(
                f"chart-{metric}", title,
                f"Bars: mean time to {long} of the {scope} opened each {unit}; a dash marks a "
                f"{unit} without data." + (f" Dashed line: {line}." if check else ""),
                _time_bars(bs, metric, sev, unit), short_duration, target=goal,
                target_label=line.replace(" min", "m"),
            ),
        })  # fmt: skip
    sev_bars = [
        Bar(s.value, float(report.by_severity[s.value].incidents if s.value in report.by_severity
                           else 0)) for s in Severity
    ]  # fmt: skip
    out.append({
        "caption": "Incidents opened in the period, per severity.",
        "svg": row_chart("chart-severity", "Incidents per severity",
                         "One bar per severity: the number of incidents opened in the period.",
                         sev_bars, count),
    })  # fmt: skip
    noisy = [
        Bar(n.alertname, float(n.incidents), f"{n.false_positives} false positive(s)")
        for n in report.noisy_alerts[:NOISY_SHOWN]
    ]
    out.append({
        "caption": f"The {NOISY_SHOWN} alerts that opened the most incidents.",
        "svg": row_chart("chart-noisy", "Noisiest alerts",
                         "One bar per alert name: the incidents it opened in the period, most "
                         "first.", noisy, count),
    })  # fmt: skip
    return out


def _targets(report: Report) -> list[TargetRow]:
    rows = []
    for t in report.targets:
        rate = t.target.metric in ("false_positive_rate", "runbook_accuracy")
        actual = percent(t.actual) if rate else duration_text(t.actual)
        rows.append(TargetRow(t.target.name, t.target.describe(), actual, t.met))
    return rows


def report_context(
    request: Request, who: SignedIn, since: str, drills: bool = False
) -> dict[str, Any]:
    """Figures, targets and charts of the tenant's incidents opened in the chosen period
    (drill incidents only when ``drills``)."""
    st = state_of(request)
    now = st.clock.now()
    length, step, unit = PERIODS[since]
    period = Period(now - length, now)
    with translate_errors(), st.sessions() as s:
        incidents, steps = load_records(s, who.tenant, period, include_drills=drills)
    report = compute_report(incidents, steps, period, now)
    bs = buckets(incidents, steps, period, step, min(period.end, now))
    return {
        **base(who),
        "since": since,
        "drills": drills,
        "periods": list(PERIODS),
        "period": period,
        "unit": unit,
        "o": report.overall,
        "report": report,
        "targets": _targets(report),
        "buckets": bs,
        "charts": charts(report, bs, unit, st.config.ack_window(Severity.P0)),
        "noisy": report.noisy_alerts[:NOISY_SHOWN],
        "duration": duration_text,
        "percent": percent,
    }


@router.get("/reports")
async def reports_page(request: Request) -> Response:
    """MTTA / MTTD / MTTR, breaches, false positives, runbook accuracy and noisy alerts for the
    last ``since`` (7d, 30d or 90d; anything else reads as 30d), against the targets."""
    who = await signed_in(request)  # any role may read reports, as in the API
    if who is None:
        return to_login(request)
    since = request.query_params.get("since", DEFAULT_SINCE)
    since = since if since in PERIODS else DEFAULT_SINCE
    drills = request.query_params.get("drills") == "1"

    def render() -> Response:
        try:
            ctx = report_context(request, who, since, drills)
        except OpsbookError as exc:
            return error_page(request, who, exc)
        return page("reports.html", ctx)

    return await run_in_threadpool(render)
