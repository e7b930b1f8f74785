"""The report gauges on ``/metrics`` answer from the last computation and refresh behind it."""

from __future__ import annotations

import threading

from opsbook.api.metrics import _Reports


def _value(collector: _Reports) -> float:
    for family in collector.collect():
        if family.name == "opsbook_report_incidents":
            return float(family.samples[0].value)
    raise AssertionError("no opsbook_report_incidents family")


def test_scrapes_reuse_fresh_figures_and_refresh_stale_ones_in_the_background() -> None:
    calls: list[int] = []
    second = threading.Event()
    release = threading.Event()

    def source() -> list[tuple[str, dict[str, str], float]]:
        calls.append(1)
        if len(calls) == 2:
            second.set()
            assert release.wait(10)  # the scrape that started this refresh must not wait for it
        labels = {"tenant": "acme", "service": "api", "severity": "P1"}
        return [("incidents", labels, float(len(calls)))]

    now = [0.0]
    gauges = _Reports(source, max_age=15.0, now=lambda: now[0])
    assert _value(gauges) == 1.0  # the first scrape computes
    now[0] = 10.0
    assert _value(gauges) == 1.0 and len(calls) == 1  # fresh: nothing recomputed
    now[0] = 20.0
    assert _value(gauges) == 1.0  # stale: answered at once with the last figures …
    assert second.wait(10)  # … while one background computation runs
    assert _value(gauges) == 1.0 and len(calls) == 2  # never two at once
    release.set()
    for t in threading.enumerate():
        if t.name == "report-gauges":
            t.join(10)
    assert _value(gauges) == 2.0
