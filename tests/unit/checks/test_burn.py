"""Burn-rate maths, hand-computed: 99.9 % objective → budget 0.1 %; 1.44 % errors burn 14.4×."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from opsbook.checks.burn import (
    budget_remaining,
    burn_rate,
    decide,
    error_ratio_expr,
    prom_duration,
    range_windows,
    with_label,
)
from opsbook.checks.evaluate import breaches, fill
from opsbook.config.checks import LatencySli, Slo

H, M, D = timedelta(hours=1), timedelta(minutes=1), timedelta(days=1)


def slo(**kw: object) -> Slo:
    base: dict[str, object] = {"name": "a", "good": "ok_total", "total": "all_total",
                               "objective": 0.999}  # fmt: skip
    return Slo.model_validate({**base, **kw})


@pytest.mark.parametrize(
    ("ratio", "objective", "burn"),
    [(0.0144, 0.999, 14.4), (0.006, 0.999, 6.0), (0.001, 0.999, 1.0), (0.5, 0.99, 50.0),
     (0.0, 0.999, 0.0), (math.nan, 0.999, 0.0)],
)  # fmt: skip
def test_burn_rate(ratio: float, objective: float, burn: float) -> None:
    assert burn_rate(ratio, objective) == pytest.approx(burn)


def test_budget_remaining() -> None:
    assert budget_remaining(0.00025, 0.999) == pytest.approx(0.75)
    assert budget_remaining(0.002, 0.999) == pytest.approx(-1.0)


def ratios(**by_window: float) -> dict[timedelta, float]:
    names = {"m5": 5 * M, "m30": 30 * M, "h1": H, "h6": 6 * H, "d3": 3 * D, "d30": 30 * D}
    return {names[k]: v for k, v in by_window.items()}


@pytest.mark.parametrize(
    ("measured", "action"),
    [
        # 2 % errors everywhere: 20× > 14.4 over 1h and 5m → page
        ({"m5": 0.02, "h1": 0.02, "m30": 0.02, "h6": 0.02, "d3": 0.02}, "page"),
        # burned hard for an hour but stopped 5 minutes ago → the short window stops the page
        ({"m5": 0.0, "h1": 0.02, "m30": 0.0, "h6": 0.004, "d3": 0.0005}, None),
        # 0.7 % over 6h and 30m: 7× > 6 → page (second pair); 1h at 0.7 % is < 14.4×
        ({"m5": 0.007, "h1": 0.007, "m30": 0.007, "h6": 0.007, "d3": 0.002}, "page"),
        # 0.2 % for days: 2× → ticket only
        ({"m5": 0.002, "h1": 0.002, "m30": 0.002, "h6": 0.002, "d3": 0.002}, "ticket"),
        # healthy, and no traffic at all
        ({"m5": 0.0001, "h1": 0.0001, "m30": 0.0001, "h6": 0.0001, "d3": 0.0001}, None),
        ({}, None),
    ],
)
def test_multi_window_decisions(measured: dict[str, float], action: str | None) -> None:
    status = decide(slo(), ratios(**measured, d30=0.00025))
    assert status.action == action
    assert status.budget_remaining == pytest.approx(0.75)
    assert status.compliance == pytest.approx(0.99975)


def test_window_scale_and_prom_durations() -> None:
    s = slo(window_scale=1 / 360)
    assert [prom_duration(d) for d in range_windows(s)] == ["1s", "5s", "10s", "1m", "12m", "2h"]
    assert prom_duration(30 * D) == "30d" and prom_duration(H + 5 * M) == "1h5m"


def test_latency_sli_expression() -> None:
    s = slo(good=None, total=None, latency=LatencySli(buckets='h_bucket{job="x"}', threshold=0.5))
    assert error_ratio_expr(s, "5m") == (
        'sum(rate(h_bucket{job="x", le="0.5"}[5m]))'.join(["1 - (", " / "])
        + 'sum(rate(h_bucket{job="x", le="+Inf"}[5m])))'
    )
    assert with_label("m", "le", "1|1\\\\.0", "=~") == 'm{le=~"1|1\\\\.0"}'


def test_thresholds_and_placeholders() -> None:
    assert breaches(91, "> 90") and not breaches(90, "> 90") and breaches(0, "== 0")
    look = {"API": "http://h:1"}.get
    assert fill("{{ API }}/healthz ${API}", look) == "http://h:1/healthz http://h:1"
    with pytest.raises(ValueError, match="NOPE is not defined"):
        fill("{{ NOPE }}", look)


def test_an_slo_needs_one_sli() -> None:
    with pytest.raises(ValueError, match="either good and total"):
        slo(good=None)
