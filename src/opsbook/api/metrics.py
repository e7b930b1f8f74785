"""Prometheus metrics of one app instance (its own registry, so tests can run several apps)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from opsbook.flows.backlog import Backlog


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


REPORT_HELP = {
    "incidents": "Incidents opened in the last 30 days",
    "mtta_seconds": "Time from trigger to acknowledgement, last 30 days (stat: mean, median, p90)",
    "mttd_seconds": "Time from the first alert's startsAt to the incident, last 30 days",
    "mttr_seconds": "Time from trigger to resolution, last 30 days",
    "ack_breaches": "Incidents acknowledged after their window or never, last 30 days",
    "escalated": "Incidents paged beyond the first escalation level, last 30 days",
    "false_positive_ratio": "Closed as false positive / all closed, last 30 days",
    "runbook_accuracy_ratio": "Step runs that succeeded / step runs that finished, last 30 days",
}


class _Reports(Collector):
    """The report figures (see opsbook.reports), recomputed from the database's summary rows.

    ``source`` yields (name, labels, value); names are ``REPORT_HELP`` keys and become
    ``opsbook_report_<name>`` gauges labelled tenant, service, severity (and stat for times).
    Thirty days of figures change slowly and cost a read of the period's incidents, so a scrape
    answers from the last computation: the first scrape computes, later ones get figures at most
    ``max_age`` seconds old while one background thread computes the next (never two at once,
    and no scrape ever waits for it).
    """

    def __init__(
        self,
        source: Callable[[], Sequence[tuple[str, dict[str, str], float]]],
        max_age: float = 15.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._max_age = max_age
        self._now = now
        self._lock = threading.Lock()
        self._samples: Sequence[tuple[str, dict[str, str], float]] | None = None
        self._at = 0.0
        self._refreshing = False

    def _refresh(self) -> Sequence[tuple[str, dict[str, str], float]]:
        try:
            samples = self._source()
        except Exception:  # noqa: BLE001 - a scrape must not fail because the database is down
            samples = []
        with self._lock:
            self._samples, self._at, self._refreshing = samples, self._now(), False
        return samples

    def _current(self) -> Sequence[tuple[str, dict[str, str], float]]:
        with self._lock:
            samples = self._samples
            stale = self._now() - self._at > self._max_age
            start = samples is not None and stale and not self._refreshing
            if start:
                self._refreshing = True
        if samples is None:
            return self._refresh()
        if start:
            threading.Thread(target=self._refresh, name="report-gauges", daemon=True).start()
        return samples

    def _families(self) -> dict[str, GaugeMetricFamily]:
        base = ["tenant", "service", "severity"]
        return {
            k: GaugeMetricFamily(
                f"opsbook_report_{k}",
                REPORT_HELP[k],
                labels=[*base, "stat"] if k.endswith("_seconds") else base,
            )
            for k in REPORT_HELP
        }

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = self._families()
        for name, labels, value in self._current():
            if name in families:
                keys = ["tenant", "service", "severity"] + (
                    ["stat"] if name.endswith("_seconds") else []
                )
                families[name].add_metric([labels.get(k, "") for k in keys], value)
        yield from families.values()


CheckRow = tuple[str, str, str, str, str | None, float | None]
"""(tenant, service, check, state, last run's status or None, last run's duration in ms)."""


class _CheckStates(Collector):
    """Health checks at scrape time, from the database (right across replicas and workers):
    ``opsbook_check_up`` (1 healthy, 0 failing, absent before the first run),
    ``opsbook_check_firing`` and ``opsbook_check_latency_ms`` of the last run."""

    def __init__(self, source: Callable[[], Sequence[CheckRow]]):
        self._source = source

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["tenant", "service", "check"]
        up = GaugeMetricFamily("opsbook_check_up", "1 when the last run was healthy", labels=labels)
        firing = GaugeMetricFamily(
            "opsbook_check_firing", "1 while the check's alert fires", labels=labels
        )
        latency = GaugeMetricFamily(
            "opsbook_check_latency_ms", "Duration of the last run", labels=labels
        )
        try:
            rows = self._source()
        except Exception:  # noqa: BLE001 - a scrape must not fail because the database is down
            rows = []
        for tenant, service, check, state, last_status, ms in rows:
            key = [tenant, service, check]
            if last_status is not None:
                up.add_metric(key, 1.0 if last_status == "ok" else 0.0)
                latency.add_metric(key, ms or 0.0)
            firing.add_metric(key, 1.0 if state in ("firing", "recovering") else 0.0)
        yield from (up, firing, latency)


class _Backlog(Collector):
    """Unsent work at scrape time, from the database (the same on every replica):
    ``opsbook_queue_depth`` and ``opsbook_queue_oldest_seconds`` per queue (``notification`` for
    pending messages, else the job kind), and ``opsbook_backlog_deep`` (1 when people may be
    hearing late; see ``flows.backlog``)."""

    def __init__(self, source: Callable[[], Backlog]) -> None:
        self._source = source

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "opsbook_queue_depth",
            "Ready jobs per kind, and pending notifications",
            labels=["queue"],
        )
        oldest = GaugeMetricFamily(
            "opsbook_queue_oldest_seconds",
            "How long the oldest ready item waited",
            labels=["queue"],
        )
        deep = GaugeMetricFamily(
            "opsbook_backlog_deep", "1 while the backlog of unsent work is deep"
        )
        try:
            b = self._source()
        except Exception:  # noqa: BLE001 - a scrape must not fail because the database is down
            yield from (depth, oldest, deep)
            return
        for q in b.queues:
            depth.add_metric([q.kind], q.depth)
            oldest.add_metric([q.kind], b.age(q))
        deep.add_metric([], 1.0 if b.deep else 0.0)
        yield from (depth, oldest, deep)


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

    def watch_checks(self, source: Callable[[], Sequence[CheckRow]]) -> None:
        """Export health checks; ``source`` gives :data:`CheckRow` tuples
        (``opsbook.flows.checks.metric_rows``)."""
        self.registry.register(_CheckStates(source))

    def watch_backlog(self, source: Callable[[], Backlog]) -> None:
        """Expose the backlog of unsent work (``flows.backlog.reader``) as gauges."""
        self.registry.register(_Backlog(source))

    def watch_reports(
        self, source: Callable[[], Sequence[tuple[str, dict[str, str], float]]]
    ) -> None:
        """Expose the report figures (``flows.reports.metric_source``) as gauges."""
        self.registry.register(_Reports(source))
