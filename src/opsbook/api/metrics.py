"""Prometheus metrics of one app instance (its own registry, so tests can run several apps)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class _OpenIncidents(Collector):
    """Reads open incidents from the database at scrape time: right across replicas."""

    def __init__(self, source: Callable[[], Sequence[tuple[str, str, str, int]]]) -> None:
        self._source = source

    def collect(self) -> Iterator[GaugeMetricFamily]:
        g = GaugeMetricFamily(
            "opsbook_open_incidents",
            "Incidents triggered or acknowledged",
            labels=["tenant", "service", "severity"],
        )
        try:
            rows = self._source()
        except Exception:  # noqa: BLE001 - a scrape must not fail because the database is down
            rows = []
        for tenant, service, severity, n in rows:
            g.add_metric([tenant, service, severity], n)
        yield g


class Metrics:
    def __init__(self, open_counts: Callable[[], Sequence[tuple[str, str, str, int]]]) -> None:
        self.registry = CollectorRegistry()
        self.alerts_received = Counter(
            "opsbook_alerts_received",
            "Alerts received, by source and outcome",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.incidents_opened = Counter(
            "opsbook_incidents_opened",
            "Incidents opened, by severity",
            ["severity"],
            registry=self.registry,
        )
        self.intake_latency = Histogram(
            "opsbook_intake_latency_seconds",
            "Time from request to committed answer on intake routes",
            ["source"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.registry.register(_OpenIncidents(open_counts))
