"""SLO maths: error ratios, burn rates, multi-window multi-burn-rate decisions, error budget.

Pure. A burn rate is how fast the error budget is spent relative to the objective: with a 99.9 %
objective the budget is 0.1 % of requests, so an error ratio of 1.44 % burns at 14.4× — at that
pace a 30-day budget is gone in about two days (30 d / 14.4). The SRE workbook pages when the
burn rate is above 14.4× over 1 h *and* 5 m (2 % of the budget in an hour), or above 6× over
6 h and 30 m (5 % in six hours), and opens a ticket at 1× over 3 d and 6 h. The short window
makes an alert stop soon after the burning stops.

The PromQL for the ratios is built here too, so opsbook's own evaluation and the rule file from
``opsbook slo rules`` ask Prometheus exactly the same question.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from opsbook.config.checks import BurnWindow, Slo

_SELECTOR = re.compile(r"^\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*(\{(.*)\})?\s*$", re.DOTALL)


def budget(objective: float) -> float:
    """The error budget as a ratio: 1 − objective (0.999 → 0.001)."""
    return 1.0 - objective


def burn_rate(error_ratio: float, objective: float) -> float:
    """How many times faster than sustainable the budget burns (0 when nothing fails)."""
    if math.isnan(error_ratio):
        return 0.0
    return max(error_ratio, 0.0) / budget(objective)


def budget_remaining(error_ratio: float, objective: float) -> float:
    """Share of the window's error budget still left (1.0 = untouched, below 0 = overspent)."""
    if math.isnan(error_ratio):
        return 1.0
    return 1.0 - max(error_ratio, 0.0) / budget(objective)


def scaled(d: timedelta, scale: float) -> timedelta:
    """A window shrunk by ``scale`` (whole seconds, at least 1 s)."""
    return timedelta(seconds=max(1, round(d.total_seconds() * scale)))


def prom_duration(d: timedelta) -> str:
    """A PromQL range duration in days, hours, minutes, seconds (``30d``, ``1h5m``)."""
    secs = int(d.total_seconds())
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if secs >= size:
            out += f"{secs // size}{unit}"
            secs %= size
    return out or "0s"


def with_label(selector: str, name: str, value: str, op: str = "=") -> str:
    """``metric{a="b"}`` with one more matcher ``name<op>"value"``; raises ValueError for
    something that is not a plain metric selector."""
    m = _SELECTOR.match(selector)
    if not m:
        raise ValueError(f"not a metric selector: {selector!r}")
    inner = (m.group(3) or "").strip().rstrip(",")
    matcher = f'{name}{op}"{value}"'
    return f"{m.group(1)}{{{inner + ', ' if inner else ''}{matcher}}}"


def _bucket(selector: str, threshold: float) -> str:
    """The bucket ``le`` = threshold; Go clients write ``1``, Python ones ``1.0``: match both."""
    text = format(threshold, "g")
    if threshold == int(threshold):
        return with_label(selector, "le", f"{text}|{text}\\\\.0", "=~")
    return with_label(selector, "le", text)


def sli_exprs(slo: Slo, window: str) -> tuple[str, str]:
    """(good, total) event rates over ``window`` as PromQL."""
    if slo.latency is not None:
        b = slo.latency.buckets
        good = f"sum(rate({_bucket(b, slo.latency.threshold)}[{window}]))"
        total = f"sum(rate({with_label(b, 'le', '+Inf')}[{window}]))"
        return good, total
    assert slo.good is not None and slo.total is not None
    return f"sum(rate({slo.good}[{window}]))", f"sum(rate({slo.total}[{window}]))"


def error_ratio_expr(slo: Slo, window: str) -> str:
    """The error ratio over ``window``: 1 − good/total (no traffic gives no sample)."""
    good, total = sli_exprs(slo, window)
    return f"1 - ({good} / {total})"


@dataclass(frozen=True)
class WindowDecision:
    """One multi-window alert evaluated: the burn rates seen and whether both exceed ``burn``."""

    window: BurnWindow
    long_burn: float
    short_burn: float

    @property
    def firing(self) -> bool:
        return self.long_burn > self.window.burn and self.short_burn > self.window.burn


@dataclass(frozen=True)
class SloStatus:
    """An SLO evaluated: compliance and budget over its window, and each multi-window alert."""

    objective: float
    compliance: float | None
    budget_remaining: float | None
    decisions: tuple[WindowDecision, ...] = ()
    burn_rates: Mapping[str, float] = field(default_factory=dict)

    @property
    def action(self) -> str | None:
        """``page`` when any page window fires, else ``ticket`` when a ticket window fires.
        A page supersedes the ticket (as an Alertmanager inhibition would)."""
        fired = {d.window.action for d in self.decisions if d.firing}
        if "page" in fired:
            return "page"
        return "ticket" if "ticket" in fired else None


def windows_of(slo: Slo) -> list[BurnWindow]:
    """The SLO's alert windows after ``window_scale``."""
    if slo.window_scale == 1.0:
        return list(slo.windows)
    return [
        BurnWindow(
            long=scaled(w.long, slo.window_scale),
            short=scaled(w.short, slo.window_scale),
            burn=w.burn,
            action=w.action,
        )
        for w in slo.windows
    ]


def range_windows(slo: Slo) -> list[timedelta]:
    """Every distinct range the evaluation needs: each alert window and the SLO window."""
    out = {scaled(slo.window, slo.window_scale)}
    for w in windows_of(slo):
        out |= {w.long, w.short}
    return sorted(out)


def decide(slo: Slo, error_ratios: Mapping[timedelta, float]) -> SloStatus:
    """Burn rates and alert decisions from the error ratio measured over each range
    (a missing or NaN ratio — no traffic — burns nothing)."""

    def burn(d: timedelta) -> float:
        return burn_rate(error_ratios.get(d, math.nan), slo.objective)

    decisions = tuple(WindowDecision(w, burn(w.long), burn(w.short)) for w in windows_of(slo))
    window = scaled(slo.window, slo.window_scale)
    ratio = error_ratios.get(window, math.nan)
    known = not math.isnan(ratio)
    return SloStatus(
        objective=slo.objective,
        compliance=(1.0 - max(ratio, 0.0)) if known else None,
        budget_remaining=budget_remaining(ratio, slo.objective) if known else None,
        decisions=decisions,
        burn_rates={prom_duration(d): burn(d) for d in range_windows(slo)},
    )
