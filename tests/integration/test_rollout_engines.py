"""Contract tests for the rollout engines: Flagger's webhooks and Argo Rollouts' web metric
provider get opsbook's SLO gates (judged on a real Prometheus), and a failure they report opens an
opsbook incident with the evidence."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.app import Harness, running_app
from tests.support.services import MetricExporter, PrometheusServer

pytestmark = pytest.mark.xdist_group("prometheus")


def _config(prom: str) -> str:
    return f"""
tenants: [{{name: acme}}]
services:
  - {{name: podinfo, tenant: acme}}
rollouts:
  - name: podinfo
    service: podinfo
    prometheus: "{prom}"
    steps: [{{weight: 10}}, {{weight: 100}}]
    gates:
      - {{name: error-rate, query: 'error_ratio{{server="{{{{canary}}}}"}}', max: 0.01}}
      - name: latency-vs-primary
        query: 'latency_seconds{{server="{{{{canary}}}}"}}'
        baseline: 'latency_seconds{{server="{{{{stable}}}}"}}'
        max_ratio: 1.5
    actuator: {{kubernetes: {{namespace: test, httproute: podinfo, stable: podinfo-primary, canary: podinfo-canary}}}}
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    exporter = MetricExporter().start()
    exporter.set("error_ratio", 0.001, {"server": "podinfo-canary"})
    exporter.set("latency_seconds", 0.20, {"server": "podinfo-canary"})
    exporter.set("latency_seconds", 0.18, {"server": "podinfo-primary"})
    prom = PrometheusServer(targets=[exporter.target]).start()
    db = tmp_path_factory.mktemp("engines") / "o.db"
    try:
        with running_app(f"sqlite:///{db}", _config(prom.url), run_worker=False) as h:
            deadline = time.monotonic() + 20
            while not prom.query("error_ratio") and time.monotonic() < deadline:
                time.sleep(0.2)
            yield {"h": h, "exporter": exporter, "prom": prom}
    finally:
        prom.close()
        exporter.close()


def _scraped(world: dict[str, Any], name: str, server: str, value: float) -> None:
    """Set a gauge and wait until Prometheus has it (bounded)."""
    world["exporter"].set(name, value, {"server": server})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        got = world["prom"].query(f'{name}{{server="{server}"}}')
        if got and float(got[0]["value"][1]) == value:
            return
        time.sleep(0.2)
    raise AssertionError(f"prometheus never saw {name}={value}")


def _hook(h: Harness, **body: Any) -> Any:
    base = {"name": "podinfo", "namespace": "test", "phase": "Progressing", "type": "rollout"}
    return h.client.post("/api/v1/integrations/flagger", json={**base, **body}, headers=h.intake())


def test_flagger_webhooks_answer_200_while_gates_pass_and_412_when_one_fails(
    world: dict[str, Any],
) -> None:
    h = world["h"]
    ok = _hook(h)
    assert ok.status_code == 200, ok.text
    assert ok.json()["gates"]["error-rate"]["verdict"] == "pass"
    assert ok.json()["gates"]["latency-vs-primary"]["baseline"] == pytest.approx(0.18)
    _scraped(world, "error_ratio", "podinfo-canary", 0.07)
    bad = _hook(h, type="confirm-promotion")
    assert bad.status_code == 412 and "error-rate" in bad.json()["detail"]
    _scraped(world, "error_ratio", "podinfo-canary", 0.001)
    _scraped(world, "latency_seconds", "podinfo-canary", 0.5)
    slow = _hook(h)
    assert slow.status_code == 412 and "baseline" in slow.json()["detail"]
    _scraped(world, "latency_seconds", "podinfo-canary", 0.2)
    assert _hook(h, type="event").json() == {"ok": True, "ignored": "event"}


def test_flagger_token_in_metadata_and_unknown_plans(world: dict[str, Any]) -> None:
    h = world["h"]
    body = {
        "name": "podinfo",
        "type": "rollout",
        "metadata": {"token": h.tokens[("acme", "intake")]},
    }
    assert h.client.post("/api/v1/integrations/flagger", json=body).status_code == 200
    body["metadata"]["token"] = "nope"
    assert h.client.post("/api/v1/integrations/flagger", json=body).status_code == 401
    assert h.client.post("/api/v1/integrations/flagger", json={"name": "x"}).status_code == 401
    viewer = h.client.post(
        "/api/v1/integrations/flagger", json={"name": "podinfo"}, headers=h.auth(role="viewer")
    )
    assert viewer.status_code == 403
    unknown = _hook(h, name="other")
    assert unknown.status_code == 404 and "rollouts: podinfo" in unknown.text


def test_a_failed_flagger_rollout_opens_an_incident_with_the_gate_values(
    world: dict[str, Any],
) -> None:
    h = world["h"]
    r = _hook(h, type="post-rollout", phase="Failed", metadata={"version": "6.1.2"})
    assert r.status_code == 200, r.text
    incident = r.json()["incident_id"]
    inc = h.client.get(f"/api/v1/incidents/{incident}", headers=h.auth()).json()
    assert inc["service"] == "podinfo" and inc["severity"] == "P1"
    assert "rollout of 6.1.2 failed" in inc["title"]
    timeline = h.client.get(f"/api/v1/incidents/{incident}/timeline", headers=h.auth()).text
    assert "rollout gate error-rate pass" in timeline and "podinfo-canary" in timeline


def test_argo_web_metric_provider_and_failure_report(world: dict[str, Any]) -> None:
    h = world["h"]
    params = {"canary": "podinfo-canary", "stable": "podinfo-primary", "version": "6.1.3"}
    m = h.client.get(
        "/api/v1/integrations/argo/gates/podinfo", params=params, headers=h.auth(role="viewer")
    )
    assert m.status_code == 200, m.text
    out = m.json()
    assert out["pass"] is True and out["gates"]["error-rate"]["value"] == pytest.approx(0.001)
    assert h.client.get("/api/v1/integrations/argo/gates/podinfo", params=params).status_code == 401
    failed = h.client.post(
        "/api/v1/integrations/argo/failed/podinfo",
        json={
            "version": "6.1.3",
            "reason": "AnalysisRun failed",
            **{k: params[k] for k in ("canary", "stable")},
        },
        headers=h.intake(),
    )
    assert failed.status_code == 200, failed.text
    inc = h.client.get(f"/api/v1/incidents/{failed.json()['incident_id']}", headers=h.auth()).json()
    assert "AnalysisRun failed" in inc["title"]
    extra = h.client.post(
        "/api/v1/integrations/argo/failed/podinfo",
        json={"version": "x", "weight": 0},
        headers=h.intake(),
    )
    assert extra.status_code == 422
