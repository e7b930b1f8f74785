"""View models of the UI pages: plain data built from storage rows and flows, ready for templates."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from opsbook.config.models import Config
from opsbook.core.errors import NotFound
from opsbook.flows import steps as step_flows
from opsbook.flows.runbook_catalog import RunbookCatalog
from opsbook.flows.step_inputs import requestable
from opsbook.flows.step_review import Review
from opsbook.storage.tables import Incident, StepRun

SEVERITIES = ("P0", "P1", "P2", "P3")
STATUSES = ("triggered", "acknowledged", "resolved", "closed")


@dataclass(frozen=True)
class Row:
    """One line of the incidents table."""

    id: str
    title: str
    service: str
    severity: str
    status: str
    is_open: bool
    age: float
    created_at: datetime
    ack_deadline: datetime
    ack_left: float
    acknowledged: bool
    breached: bool
    commander: str | None

    @classmethod
    def of(cls, inc: Incident, now: datetime) -> Row:
        left = (inc.ack_deadline - now).total_seconds()
        acked = inc.acknowledged_at is not None
        is_open = inc.status in ("triggered", "acknowledged")
        late = (inc.acknowledged_at or inc.resolved_at or now) > inc.ack_deadline
        return cls(
            id=inc.id,
            title=inc.title,
            service=inc.service,
            severity=inc.severity,
            status=inc.status,
            is_open=is_open,
            age=(now - inc.created_at).total_seconds(),
            created_at=inc.created_at,
            ack_deadline=inc.ack_deadline,
            ack_left=left,
            acknowledged=acked,
            breached=late,
            commander=inc.commander,
        )


@dataclass(frozen=True)
class StepView:
    """A step of the matched section with its gate and its last run (result blocks as stored)."""

    index: int
    phase: str
    title: str
    text: str
    executable: bool
    kind: str
    safety: str
    reason: str
    variables: list[str]
    needs_role: str | None
    confirmation: str | None
    last_run: StepRun | None
    pending: list[RequestView] = field(default_factory=list)
    second_person: bool = False

    @property
    def waiting(self) -> bool:
        return bool(self.pending)

    @property
    def blocks(self) -> list[dict[str, Any]]:
        """The result's blocks ready to show (see ``result_blocks``)."""
        return result_blocks(self.last_run.result if self.last_run else None)


@dataclass(frozen=True)
class RequestView:
    """A run request waiting for approval, as its approver sees it: the review (exact command,
    argv, variables with their sources, target, safety) and the hash the approve form sends."""

    run_id: str
    requested_by: str
    requested_at: datetime
    expires_at: datetime | None
    review: Review | None
    shown_hash: str
    current: bool
    second_person: bool
    command: str

    @classmethod
    def of(cls, p: step_flows.Pending) -> RequestView:
        return cls(
            run_id=p.run.id,
            requested_by=p.run.requested_by,
            requested_at=p.run.requested_at,
            expires_at=p.run.approval_expires_at,
            review=p.review,
            shown_hash=p.run.shown_hash or "",
            current=p.current and p.review is not None,
            second_person=p.second_person,
            command=p.run.command,
        )


@dataclass
class Phase:
    """Steps under one phase heading, in document order."""

    name: str
    steps: list[StepView] = field(default_factory=list)


def phases(
    s: Session, config: Config, catalog: RunbookCatalog, inc: Incident
) -> tuple[str | None, list[Phase]]:
    """The section heading and its steps grouped by phase; (None, []) when no section matched."""
    try:
        section, svc, steps = step_flows.outline(s, config, catalog, inc)
    except NotFound:
        return None, []
    groups: list[Phase] = []
    for o in steps:
        step, phase = o.loc.step, o.loc.phase
        if not groups or groups[-1].name != phase:
            groups.append(Phase(phase))
        groups[-1].steps.append(
            StepView(
                index=o.loc.index,
                phase=phase,
                title=step.title,
                text=step.text,
                executable=step.executable,
                kind=step.kind,
                safety=step.safety,
                reason=step.reason,
                variables=requestable(step, svc),
                needs_role=o.gate.role if o.gate else None,
                confirmation=o.confirmation,
                last_run=o.last_run,
                pending=[RequestView.of(p) for p in o.pending],
                second_person=o.second_person,
            )
        )
    return section.heading, groups


# -- step results ----------------------------------------------------------------------------------

CHART_W, CHART_H = 320, 120
PLOT = (44, 8, 312, 100)  # left, top, right, bottom of the plotting area inside the viewBox
MAX_SERIES, MAX_POINTS = 8, 400
PALETTE = ("#0b57d0", "#b3261e", "#146c2e", "#8a5300", "#6b3fa0", "#00677f", "#a3395c", "#3c4043")


@dataclass(frozen=True)
class ChartLine:
    """One series as an SVG polyline (``points`` in viewBox coordinates) and its colour."""

    name: str
    points: str
    color: str
    latest: str


@dataclass(frozen=True)
class ChartView:
    """A small line chart drawn on the server: labels are plain text (the template escapes them)."""

    title: str
    width: int
    height: int
    plot: tuple[int, int, int, int]
    lines: list[ChartLine]
    y_max: str
    y_min: str
    x_start: str
    x_end: str
    left_off: int

    @property
    def description(self) -> str:
        """A text alternative for screen readers: what is drawn, over which range."""
        names = ", ".join(f"{ln.name} (latest {ln.latest})" for ln in self.lines)
        return (
            f"{len(self.lines)} series from {self.x_start} to {self.x_end}, "
            f"values {self.y_min} to {self.y_max}: {names}"
        )


def _number(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _label(v: float) -> str:
    """A short axis label: ``0.25``, ``1.5k``, ``3.2M``."""
    a = abs(v)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= limit:
            return f"{v / limit:.3g}{suffix}"
    return f"{v:.3g}"


def _clock(ts: float) -> str:
    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%H:%M")
    except (OverflowError, OSError, ValueError):
        return ""


def _points(raw: Any) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for p in raw if isinstance(raw, Sequence) and not isinstance(raw, str) else []:
        if isinstance(p, Sequence) and not isinstance(p, str) and len(p) >= 2:
            t, v = _number(p[0]), _number(p[1])
            if t is not None and v is not None:
                out.append((t, v))
    if len(out) > MAX_POINTS:  # keep the shape: every n-th point and the last one
        step = math.ceil(len(out) / MAX_POINTS)
        out = [*out[::step][: MAX_POINTS - 1], out[-1]]
    return out


def chart_view(block: Mapping[str, Any]) -> ChartView | None:
    """Scale a chart block's series into a ``CHART_W``×``CHART_H`` viewBox; None without data.

    Non-numeric and non-finite points are left out; a flat series is drawn mid-height. At most
    ``MAX_SERIES`` series (``left_off`` counts the rest) of at most ``MAX_POINTS`` points each.
    """
    raw = block.get("series")
    series = [s for s in raw if isinstance(s, Mapping)] if isinstance(raw, list) else []
    named = [(str(s.get("name", "")) or "series", _points(s.get("points"))) for s in series]
    drawn = [(n, pts) for n, pts in named if pts]
    shown = drawn[:MAX_SERIES]
    if not shown:
        return None
    ts = [t for _, pts in shown for t, _ in pts]
    vs = [v for _, pts in shown for _, v in pts]
    t0, t1, v0, v1 = min(ts), max(ts), min(vs), max(vs)
    if v0 == v1:
        v0, v1 = v0 - 1, v1 + 1
    left, top, right, bottom = PLOT

    def x(t: float) -> float:
        return (left + right) / 2 if t1 == t0 else left + (t - t0) / (t1 - t0) * (right - left)

    def y(v: float) -> float:
        return bottom - (v - v0) / (v1 - v0) * (bottom - top)

    lines = [
        ChartLine(
            name=name,
            points=" ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in pts),
            color=PALETTE[i % len(PALETTE)],
            latest=_label(pts[-1][1]),
        )
        for i, (name, pts) in enumerate(shown)
    ]
    return ChartView(
        title=str(block.get("title", "")),
        width=CHART_W,
        height=CHART_H,
        plot=PLOT,
        lines=lines,
        y_max=_label(v1),
        y_min=_label(v0),
        x_start=_clock(t0),
        x_end=_clock(t1),
        left_off=len(drawn) - len(shown),
    )


def result_blocks(result: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """A stored result's blocks for the page: chart blocks get a ``view`` (``ChartView``), and a
    text block saying exactly what the one-line summary says is left out (shown once)."""
    if not result:
        return []
    summary = str(result.get("summary", "")).strip()
    out: list[dict[str, Any]] = []
    for b in result.get("blocks", []) or []:
        if not isinstance(b, Mapping):
            continue
        if b.get("kind") == "text" and str(b.get("text", "")).strip() == summary:
            continue
        if b.get("kind") == "chart":
            out.append({**b, "view": chart_view(b)})
        else:
            out.append(dict(b))
    return out
