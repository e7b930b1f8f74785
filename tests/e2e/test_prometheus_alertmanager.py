"""End to end with the real thing: Prometheus scrapes a metric, a rule fires, opsbook opens a P0.

(a) Prometheus → Alertmanager 0.25 → webhook v4 to ``/api/v1/integrations/alertmanager``
    (Bearer token through ``http_config.authorization``, as an operator would configure it).
(b) Prometheus → opsbook directly: opsbook is listed under ``alerting.alertmanagers`` and takes
    ``POST /api/v2/alerts``.

Both: the metric crosses ``queue_depth > 10`` → a P0 incident on ``checkout-api`` (the
``job="checkout"`` route of the test config, ``severity: critical`` → P0); the metric goes back
→ the incident resolves by itself. Every wait polls the API with a deadline; timings are printed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import AlertmanagerFactory, PrometheusFactory
from tests.support.server import OpsbookServer, wait_until
from tests.support.services import HOST, MetricExporter, PrometheusServer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-prometheus"), pytest.mark.timeout(150)]

WAIT = 60.0  # upper bound for each hop of the pipeline to show its effect
SERVICE = "checkout-api"


def rules(alertname: str) -> str:
    return json.dumps({
        "groups": [{
            "name": "opsbook-e2e",
            "rules": [{
                "alert": alertname,
                "expr": "queue_depth > 10",
                "for": "0s",
                "labels": {"severity": "critical"},
                "annotations": {"summary": "checkout queue depth is {{ $value }}"},
            }],
        }]
    })  # fmt: skip


@pytest.fixture(scope="module")
def opsbook() -> Iterator[OpsbookServer]:
    with OpsbookServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def viewer(opsbook: OpsbookServer) -> str:
    return opsbook.create_tokens({"v": {"tenant": "acme", "role": "viewer"}})["v"]


@pytest.fixture
def exporter() -> Iterator[MetricExporter]:
    with MetricExporter({"queue_depth": 0}) as exp:
        yield exp


def _incident(
    srv: OpsbookServer, viewer: str, alertname: str, status: str
) -> dict[str, Any] | None:
    for inc in srv.incidents(viewer, service=SERVICE):
        if inc["group_labels"].get("alertname") == alertname and inc["status"] == status:
            return inc
    return None


def _fire_and_clear(
    srv: OpsbookServer,
    viewer: str,
    prom: PrometheusServer,
    exporter: MetricExporter,
    alertname: str,
) -> dict[str, Any]:
    """Raise the metric, wait for the P0; lower it, wait for the resolve. Returns the final incident."""
    wait_until(prom.targets_up, 30, what="Prometheus scraping the exporter")
    t0 = time.monotonic()
    exporter.set("queue_depth", 42)
    opened = wait_until(
        lambda: _incident(srv, viewer, alertname, "triggered"),
        WAIT,
        interval=0.2,
        what=f"a triggered {alertname} incident",
        describe=lambda: f"prometheus alerts: {prom.alerts()}\n{srv.log_tail()}",
    )
    t_open = time.monotonic() - t0
    assert opened["severity"] == "P0"
    assert opened["service"] == SERVICE
    assert opened["alert_count"] == 1

    t1 = time.monotonic()
    exporter.set("queue_depth", 3)
    resolved = wait_until(
        lambda: _incident(srv, viewer, alertname, "resolved"),
        WAIT,
        interval=0.2,
        what=f"{alertname} resolved",
        describe=lambda: f"prometheus alerts: {prom.alerts()}\n{srv.log_tail()}",
    )
    t_resolve = time.monotonic() - t1
    print(
        f"\n{alertname}: P0 opened {t_open:.1f}s after the metric crossed 10, "
        f"resolved {t_resolve:.1f}s after it fell back"
    )
    assert resolved["id"] == opened["id"], (
        "the resolve must close the same incident, not open another"
    )
    detail = srv.incident(viewer, resolved["id"])
    assert [a["status"] for a in detail["alerts"]] == ["resolved"]
    alert = detail["alerts"][0]
    assert alert["labels"]["job"] == "checkout"
    assert alert["labels"]["severity"] == "critical"
    assert alert["annotations"]["summary"].startswith("checkout queue depth is")
    assert resolved["resolved_by"].startswith("integration:")
    # exactly one incident for this alert, however often it was re-sent
    same = [
        i
        for i in srv.incidents(viewer, service=SERVICE)
        if i["group_labels"].get("alertname") == alertname
    ]
    assert len(same) == 1, same
    return detail


def test_prometheus_to_alertmanager_to_opsbook_opens_p0_and_resolves(
    opsbook: OpsbookServer,
    viewer: str,
    exporter: MetricExporter,
    prometheus_factory: PrometheusFactory,
    alertmanager_factory: AlertmanagerFactory,
) -> None:
    token = opsbook.create_token("acme", integration="alertmanager")
    am_config = json.dumps({
        "global": {"resolve_timeout": "5s"},
        "route": {"receiver": "opsbook", "group_by": ["alertname"], "group_wait": "0s",
                  "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{
            "name": "opsbook",
            "webhook_configs": [{
                "url": f"{opsbook.url}/api/v1/integrations/alertmanager",
                "send_resolved": True,
                "http_config": {"authorization": {"credentials": token}},
            }],
        }],
    })  # fmt: skip
    am = alertmanager_factory(am_config)
    alertname = "QueueTooDeepViaAlertmanager"
    prom = prometheus_factory(
        rules=rules(alertname), targets=[exporter.target], alertmanager_url=am.url, job="checkout"
    )
    detail = _fire_and_clear(opsbook, viewer, prom, exporter, alertname)
    assert detail["source"] == "alertmanager"
    assert detail["alerts"][0]["integration"] == "alertmanager"


def test_prometheus_posting_straight_to_opsbook_opens_p0_and_resolves(
    opsbook: OpsbookServer,
    viewer: str,
    exporter: MetricExporter,
    prometheus_factory: PrometheusFactory,
) -> None:
    token = opsbook.create_token("acme", integration="prometheus")
    alerting = {
        "alertmanagers": [{
            "api_version": "v2",
            "static_configs": [{"targets": [f"{HOST}:{opsbook.port}"]}],
            "authorization": {"credentials": token},
        }]
    }  # fmt: skip
    alertname = "QueueTooDeepDirect"
    prom = prometheus_factory(
        rules=rules(alertname), targets=[exporter.target], extra_alerting=alerting, job="checkout"
    )
    detail = _fire_and_clear(opsbook, viewer, prom, exporter, alertname)
    assert detail["source"] == "prometheus"
    assert detail["alerts"][0]["integration"] == "prometheus"
