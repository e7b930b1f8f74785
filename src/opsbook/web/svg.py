"""A tiny server-side SVG chart renderer for the web UI: column charts and labelled bar rows.

Charts are built as ``xml.etree`` elements and serialised by it, so every label and tooltip is
escaped by construction and the output is well-formed XML (characters XML 1.0 forbids are
dropped first). No script, no ``style``: colours are presentation attributes, which the UI's
Content-Security-Policy (``style-src 'self'``) allows. Each chart is an accessible image:
``role="img"``, an ``aria-label``, a ``<title>`` and a ``<desc>``; every bar carries its own
``<title>`` (a tooltip and a readable value). Pages show the same figures in a table too.
Charts keep their natural size (text stays legible); pages wrap them to scroll on narrow screens.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

SVG_NS = "http://www.w3.org/2000/svg"
WIDTH = 640
TEXT = "currentColor"
BAR = "#2563eb"
MUTED_BAR = "#9ca3af"
TARGET = "#a50e0e"
GRID = "#d1d5db"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")

Fmt = Callable[[float], str]


@dataclass(frozen=True)
class Bar:
    """One bar: its axis label, its value (None: no data in this bucket) and a tooltip."""

    label: str
    value: float | None
    note: str = ""


def clean(text: str, limit: int = 500) -> str:
    """Text safe to put in XML: characters XML 1.0 forbids removed, at most ``limit`` long."""
    out = _NOT_XML.sub("", str(text))
    return out if len(out) <= limit else out[: limit - 1] + "…"


def _n(x: float) -> str:
    """A coordinate: one decimal, no trailing zeros."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    e = ET.SubElement(parent, tag, {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()})
    if text is not None:
        e.text = clean(text)
    return e


def _root(chart_id: str, title: str, desc: str, height: float) -> ET.Element:
    if not _ID.match(chart_id):
        raise ValueError(f"bad chart id {chart_id!r}")
    root = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "id": chart_id,
            "class": "chart",
            "viewBox": f"0 0 {WIDTH} {_n(height)}",
            "width": str(WIDTH),
            "height": _n(height),
            "role": "img",
            "aria-label": clean(title),
            "aria-describedby": f"{chart_id}-desc",
            "font-family": FONT,
            "font-size": "12",
        },
    )
    _el(root, "title", title, id=f"{chart_id}-title")
    _el(root, "desc", desc, id=f"{chart_id}-desc")
    return root


def _done(root: ET.Element) -> Markup:
    """Serialised by ElementTree (which escapes all text and attributes): safe to embed."""
    return Markup(ET.tostring(root, encoding="unicode"))  # noqa: S704 - built escaped


def column_chart(
    chart_id: str,
    title: str,
    desc: str,
    bars: Sequence[Bar],
    fmt: Fmt,
    *,
    target: float | None = None,
    target_label: str = "",
) -> Markup:
    """Vertical bars over ordered buckets (weeks, days), with an optional dashed target line.

    Buckets without data (``value`` None) show a small "–" instead of a bar, so a quiet week is
    not mistaken for a perfect one.
    """
    height, left, top, bottom = 240.0, 64.0, 24.0, 40.0
    right = 104.0 if target is not None else 16.0  # the target's label sits right of its line
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    root = _root(chart_id, title, desc, height)
    values = [b.value for b in bars if b.value is not None]
    peak = max([*values, target or 0.0, 0.0])
    top_value = peak * 1.15 if peak > 0 else 1.0

    def y(v: float) -> float:
        return top + plot_h - (v / top_value) * plot_h

    axis = _el(root, "g", class_="chart-axis", fill=TEXT)
    for frac in (0.0, 0.5, 1.0):
        v = peak * frac if peak > 0 else frac
        _el(axis, "line", x1=_n(left), x2=_n(WIDTH - right), y1=_n(y(v)), y2=_n(y(v)),
            stroke=GRID, stroke_width="1")  # fmt: skip
        _el(axis, "text", fmt(v), x=_n(left - 6), y=_n(y(v) + 4), text_anchor="end")
    slot = plot_w / max(1, len(bars))
    width = min(48.0, slot * 0.6)
    series = _el(root, "g", class_="chart-series")
    for i, b in enumerate(bars):
        cx = left + slot * i + slot / 2
        g = _el(series, "g", class_="chart-bar")
        tip = f"{b.label}: {fmt(b.value) if b.value is not None else 'no data'}"
        _el(g, "title", f"{tip}{' · ' + b.note if b.note else ''}")
        if b.value is None:
            _el(g, "text", "–", x=_n(cx), y=_n(y(0) - 4), text_anchor="middle", fill=TEXT)
        else:
            h = max(0.0, y(0) - y(b.value))
            _el(g, "rect", x=_n(cx - width / 2), y=_n(y(0) - h), width=_n(width), height=_n(h),
                fill=BAR, data_value=_n(b.value))  # fmt: skip
            _el(g, "text", fmt(b.value), x=_n(cx), y=_n(y(0) - h - 4), text_anchor="middle",
                fill=TEXT)  # fmt: skip
        _el(g, "text", b.label, x=_n(cx), y=_n(height - bottom + 16), text_anchor="middle",
            fill=TEXT)  # fmt: skip
    if target is not None:
        ty = y(target)
        g = _el(root, "g", class_="chart-target")
        _el(g, "title", target_label or f"target {fmt(target)}")
        _el(g, "line", x1=_n(left), x2=_n(WIDTH - right), y1=_n(ty), y2=_n(ty), stroke=TARGET,
            stroke_width="2", stroke_dasharray="6 4", data_value=_n(target))  # fmt: skip
        _el(g, "text", target_label or f"target {fmt(target)}", x=_n(WIDTH - right + 6),
            y=_n(ty + 4), fill=TARGET, font_size="11")  # fmt: skip
    return _done(root)


def row_chart(
    chart_id: str, title: str, desc: str, bars: Sequence[Bar], fmt: Fmt, *, label_chars: int = 34
) -> Markup:
    """Horizontal bars, one labelled row each (severities, alert names), largest scale first.

    Long labels are shortened on the axis; the full text stays in the row's ``<title>``.
    """
    row, top, bottom, label_w, right = 26.0, 12.0, 12.0, 230.0, 56.0
    height = top + row * max(1, len(bars)) + bottom
    root = _root(chart_id, title, desc, height)
    peak = max([b.value for b in bars if b.value is not None] + [0.0]) or 1.0
    span = WIDTH - label_w - right
    series = _el(root, "g", class_="chart-series")
    if not bars:
        _el(series, "text", "no data", x=_n(WIDTH / 2), y=_n(top + row / 2 + 4),
            text_anchor="middle", fill=TEXT)  # fmt: skip
    for i, b in enumerate(bars):
        y0 = top + row * i
        g = _el(series, "g", class_="chart-bar")
        value = b.value or 0.0
        _el(g, "title", f"{b.label}: {fmt(value)}{' · ' + b.note if b.note else ''}")
        label = b.label if len(b.label) <= label_chars else b.label[: label_chars - 1] + "…"
        _el(g, "text", label, x=_n(label_w - 8), y=_n(y0 + row / 2 + 4), text_anchor="end",
            fill=TEXT)  # fmt: skip
        w = span * value / peak
        _el(g, "rect", x=_n(label_w), y=_n(y0 + 4), width=_n(w), height=_n(row - 8),
            fill=BAR if value else MUTED_BAR, data_value=_n(value))  # fmt: skip
        _el(g, "text", fmt(value), x=_n(label_w + w + 6), y=_n(y0 + row / 2 + 4), fill=TEXT)
    return _done(root)
