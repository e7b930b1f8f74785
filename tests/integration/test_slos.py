"""SLO burn-rate alerts against a real Prometheus scraping an exporter whose error ratio the test
controls, evaluated by real workers on the real clock with short explicit windows: the fast burn
pages, the slow burn opens a ticket (P3), the healthy service raises nothing, and the alert
carries the error budget left."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from opsbook.config.load import parse_config
from opsbook.flows.slos import slo_views
from opsbook.storage.db import make_engine, make_sessionmaker
from opsbook.storage.tables import Alert
from opsbook.storage.tables_checks import CheckStateRow
from tests.integration.test_checks import wait_for, workers
from tests.support.services import MetricExporter

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("checks")]
RATIOS = {"fast": 0.5, "slow": 0.03, "healthy": 0.001}  # objective 99 %: burn 50×, 3×, 0.1×


@pytest.fixture
def traffic() -> Iterator[tuple[MetricExporter, dict[str, float]]]:
    """Counters growing 100 requests per 0.1 s per service, with the error share in RATIOS."""
    ratios = dict(RATIOS)
    exporter = MetricExporter()
    exporter.start()
    stop = threading.Event()

    def grow() -> None:
        totals = dict.fromkeys(ratios, 0.0)
        good = dict.fromkeys(ratios, 0.0)
        while not stop.is_set():
            for svc, ratio in ratios.items():
                totals[svc] += 100
                good[svc] += 100 * (1 - ratio)
                exporter.set("requests_total", totals[svc], {"svc": svc})
                exporter.set("requests_good_total", good[svc], {"svc": svc})
            stop.wait(0.1)

    t = threading.Thread(target=grow, daemon=True)
    t.start()
    try:
        yield exporter, ratios
    finally:
        stop.set()
        t.join(timeout=5)
        exporter.close()


def slo_config(prometheus_url: str) -> Any:
    services = "".join(
        f"""
  - name: {svc}
    tenant: acme
    variables: {{PROMETHEUS_URL: "{prometheus_url}"}}
    slos:
      - name: availability
        good: 'requests_good_total{{svc="{svc}"}}'
        total: 'requests_total{{svc="{svc}"}}'
        objective: 0.99
        window: 30s
        every: 1s
        windows:
          - {{long: 20s, short: 5s, burn: 14.4, action: page}}
          - {{long: 20s, short: 10s, burn: 6, action: page}}
          - {{long: 30s, short: 10s, burn: 1, action: ticket}}
"""
        for svc in RATIOS
    )
    return parse_config(f"tenants: [{{name: acme}}]\nservices:{services}")


def test_fast_burn_pages_slow_burn_tickets_healthy_is_quiet(
    db_url: str, prometheus_factory: Any, traffic: tuple[MetricExporter, dict[str, float]]
) -> None:
    exporter, _ = traffic
    prom = prometheus_factory(targets=[exporter.target])
    wait_for("Prometheus to scrape the exporter", prom.targets_up, timeout=15)
    wait_for("5 s of samples", lambda: bool(prom.query("requests_total[6s]")), timeout=15)
    config = slo_config(prom.url)
    with workers(db_url, config) as incidents:
        wait_for(
            "a page for fast and a ticket for slow",
            lambda: {(i.service, i.severity) for i in incidents()} >= {("fast", "P1"),
                                                                       ("slow", "P3")},
            timeout=30,
        )  # fmt: skip
        time.sleep(2)  # two more evaluations: nothing else may appear
        opened = {(i.service, i.severity, i.status) for i in incidents()}
    assert opened == {("fast", "P1", "triggered"), ("slow", "P3", "triggered")}
    sessions = make_sessionmaker(make_engine(db_url))
    with sessions() as s:
        alerts = {a.labels["service"]: a for a in s.scalars(select(Alert))}
        views = {v["service"]: v for v in slo_views(config, _rows(s), "acme")}
    page = alerts["fast"]
    assert page.labels["action"] == "page" and page.labels["slo"] == "availability"
    assert page.annotations["budget_remaining"].endswith("%")
    assert "error budget burning" in page.annotations["summary"]
    assert alerts["slow"].labels["action"] == "ticket"
    print(
        "\nSLO views:",
        {k: (v["status"], round(v["burn_rates"]["5s"], 1), v["budget_remaining"])
         for k, v in views.items()},
    )  # fmt: skip
    assert views["fast"]["burn_rates"]["5s"] == pytest.approx(50, rel=0.2)
    assert views["slow"]["burn_rates"]["20s"] == pytest.approx(3, rel=0.3)
    assert views["healthy"]["status"] == "ok" and views["healthy"]["budget_remaining"] > 0.8
    assert views["fast"]["budget_remaining"] < 0  # 50 % errors overspend a 1 % budget


def _rows(s: Any) -> dict[tuple[str, str], CheckStateRow]:
    return {(r.service, r.name): r for r in s.scalars(select(CheckStateRow))}
