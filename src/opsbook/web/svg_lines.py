"""Line charts for the web UI (a gate's value over time against its threshold), built like
``svg.py``'s charts: escaped by construction, accessible, no script, scaling to the page width."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from opsbook.web.svg import BAR, GRID, TARGET, TEXT, WIDTH, Fmt, _done, _el, _n, _root


@dataclass(frozen=True)
class Point:
    """One evaluation: seconds since the first, its value (None: no data) and a tooltip."""

    t: float
    value: float | None
    note: str = ""
    failed: bool = False


def line_chart(
    chart_id: str,
    title: str,
    desc: str,
    points: Sequence[Point],
    fmt: Fmt,
    *,
    threshold: float | None = None,
    threshold_label: str = "",
) -> Markup:
    """The values as a polyline with a dot per evaluation (red where the gate failed) and the
    threshold as a dashed line; gaps (no data) break the line."""
    height, left, top, bottom, right = 200.0, 64.0, 16.0, 32.0, 112.0
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    root = _root(chart_id, title, desc, height)
    root.set("width", "100%")  # scales to its box on a phone; the viewBox keeps proportions
    values = [p.value for p in points if p.value is not None]
    peak = max([*values, threshold or 0.0, 0.0])
    top_value = peak * 1.2 if peak > 0 else 1.0
    span = max([p.t for p in points] + [1.0])

    def x(t: float) -> float:
        return left + (t / span) * plot_w

    def y(v: float) -> float:
        return top + plot_h - (v / top_value) * plot_h

    axis = _el(root, "g", class_="chart-axis", fill=TEXT)
    for frac in (0.0, 0.5, 1.0):
        v = top_value * frac / 1.2 if peak > 0 else frac
        _el(axis, "line", x1=_n(left), x2=_n(WIDTH - right), y1=_n(y(v)), y2=_n(y(v)),
            stroke=GRID, stroke_width="1")  # fmt: skip
        _el(axis, "text", fmt(v), x=_n(left - 6), y=_n(y(v) + 4), text_anchor="end")
    _el(axis, "text", f"{span:.0f} s", x=_n(WIDTH - right), y=_n(height - 8), text_anchor="end")
    series = _el(root, "g", class_="chart-series")
    run: list[str] = []
    for p in [*points, Point(0, None)]:  # the sentinel flushes the last run
        if p.value is None:
            if len(run) > 1:
                _el(series, "polyline", points=" ".join(run), fill="none", stroke=BAR,
                    stroke_width="2")  # fmt: skip
            run = []
            continue
        run.append(f"{_n(x(p.t))},{_n(y(p.value))}")
    for p in points:
        if p.value is None:
            continue
        dot = _el(series, "circle", cx=_n(x(p.t)), cy=_n(y(p.value)), r="3",
                  fill=TARGET if p.failed else BAR, data_value=f"{p.value:.6g}")  # fmt: skip
        _el(dot, "title", f"{fmt(p.value)}{' · ' + p.note if p.note else ''}")
    if threshold is not None:
        ty = y(threshold)
        g = _el(root, "g", class_="chart-target")
        label = threshold_label or f"threshold {fmt(threshold)}"
        _el(g, "title", label)
        _el(g, "line", x1=_n(left), x2=_n(WIDTH - right), y1=_n(ty), y2=_n(ty), stroke=TARGET,
            stroke_width="2", stroke_dasharray="6 4", data_value=f"{threshold:.6g}")  # fmt: skip
        _el(g, "text", label, x=_n(WIDTH - right + 6), y=_n(ty + 4), fill=TARGET, font_size="11")
    return _done(root)
