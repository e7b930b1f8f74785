"""Intake through the real app and database (SQLite and PostgreSQL): dedup, routing, grouping, resolve."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.app import Harness, am_alert, am_body

FIXTURE = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "fixtures"
    / "alertmanager-webhook-v4-firing.json"
)


def test_captured_alertmanager_webhook_opens_a_p0_incident(h: Harness) -> None:
    if not FIXTURE.exists():
        pytest.skip(f"captured Alertmanager fixture not found at {FIXTURE}")
    body = json.loads(FIXTURE.read_text())
    # received when Alertmanager posted it (its startsAt + group_wait): a receipt months before
    # the alert began would rightly be clamped and noted (intake.times)
    h.clock.set(datetime(2026, 11, 23, 3, 27, 9, tzinfo=UTC))
    first = h.post_am(body)
    assert first["outcomes"] == {"opened": 1}
    again = h.post_am(body)  # Alertmanager re-sends on every group_interval
    assert again["outcomes"] == {"deduplicated": 1} and again["incidents"] == first["incidents"]
    [inc] = h.incidents()
    assert (inc["severity"], inc["status"], inc["service"]) == ("P0", "triggered", "acme-catchall")
    detail = h.incident(inc["id"])
    assert detail["alerts"][0]["fingerprint"] == "3438d96d06b494e4"
    assert detail["alerts"][0]["receive_count"] == 2
    assert [e["kind"] for e in detail["timeline"]] == ["opened"]

    resolved = json.loads(FIXTURE.read_text().replace('"firing"', '"resolved"'))
    resolved["alerts"][0]["endsAt"] = "2026-11-23T03:40:00Z"
    h.clock.set(datetime(2026, 11, 23, 3, 40, 30, tzinfo=UTC))
    assert h.post_am(resolved)["outcomes"] == {"resolved": 1}
    detail = h.incident(inc["id"])
    assert detail["status"] == "resolved" and detail["resolved_by"] == "integration:alertmanager"
    assert [e["kind"] for e in detail["timeline"]] == ["opened", "alert_resolved", "resolved"]
    assert detail["alerts"][0]["ends_at"].startswith("2026-11-23T03:40:00")


def test_alerts_group_by_service_and_alertname(h: Harness) -> None:
    h.post_am(am_body(am_alert("CheckoutDown", job="checkout", instance="a", severity="critical")))
    h.post_am(am_body(am_alert("CheckoutDown", job="checkout", instance="b", severity="critical")))
    h.post_am(am_body(am_alert("CheckoutSlow", job="checkout", severity="warning")))
    incs = h.incidents()
    assert sorted(
        (i["group_labels"]["alertname"], i["alert_count"], i["severity"]) for i in incs
    ) == [("CheckoutDown", 2, "P0"), ("CheckoutSlow", 1, "P2")]


def test_route_group_by_splits_per_label(h: Harness) -> None:
    h.post_am(am_body(am_alert("IndexerBacklog", queue="a"), am_alert("IndexerBacklog", queue="b")))
    incs = h.incidents()
    assert len(incs) == 2 and {i["service"] for i in incs} == {"search-indexer"}
    assert sorted(i["group_labels"]["queue"] for i in incs) == ["a", "b"]


def test_incident_resolves_only_when_all_its_alerts_resolved(h: Harness) -> None:
    a = am_alert("CheckoutDown", job="checkout", instance="a")
    b = am_alert("CheckoutDown", job="checkout", instance="b")
    h.post_am(am_body(a, b))
    h.post_am(am_body({**a, "status": "resolved", "endsAt": "2026-01-01T12:05:00Z"}))
    [inc] = h.incidents()
    assert inc["status"] == "triggered"
    h.post_am(am_body({**b, "status": "resolved", "endsAt": "2026-01-01T12:06:00Z"}))
    assert h.incidents()[0]["status"] == "resolved"


def test_new_firing_after_resolve_opens_a_new_incident(h: Harness) -> None:
    a = am_alert("CheckoutDown", job="checkout")
    first = h.post_am(am_body(a))["incidents"][0]
    h.post_am(am_body({**a, "status": "resolved"}))
    h.clock.advance(minutes=10)
    second = h.post_am(am_body(a))
    assert second["outcomes"] == {"opened": 1} and second["incidents"][0] != first
    assert [i["status"] for i in h.incidents()] == ["triggered", "resolved"]


def test_route_without_auto_resolve_waits_for_a_person(h: Harness) -> None:
    a = am_alert("LedgerLag", service="ledger", severity="warning")
    inc_id = h.post_am(am_body(a), tenant="globex")["incidents"][0]
    h.post_am(am_body({**a, "status": "resolved"}), tenant="globex")
    detail = h.incident(inc_id, tenant="globex")
    assert (
        detail["status"] == "triggered" and detail["severity"] == "P1"
    )  # the route maps warning to P1
    assert detail["alerts"][0]["status"] == "resolved"
    # the same alert firing again joins the still-open incident
    assert h.post_am(am_body(a), tenant="globex")["outcomes"] == {"refired": 1}


def test_resolved_for_an_unknown_alert_is_ignored_not_an_incident(h: Harness) -> None:
    out = h.post_am(am_body(am_alert("Never", status="resolved")))
    assert out["outcomes"] == {"ignored": 1}
    assert h.incidents() == []


def test_truncated_alerts_are_recorded_on_the_timeline(h: Harness) -> None:
    out = h.post_am(am_body(am_alert("CheckoutDown", job="checkout"), truncated=7))
    tl = h.incident(out["incidents"][0])["timeline"]
    assert any(e["data"].get("truncated_alerts") == 7 for e in tl)


def test_a_more_severe_alert_raises_the_incident_severity(h: Harness) -> None:
    h.post_am(am_body(am_alert("CheckoutDown", job="checkout", instance="a", severity="warning")))
    h.post_am(am_body(am_alert("CheckoutDown", job="checkout", instance="b", severity="critical")))
    [inc] = h.incidents()
    assert inc["severity"] == "P0"
    assert "severity_changed" in [e["kind"] for e in h.incident(inc["id"])["timeline"]]


def _prom(name: str, ends: str | None = None, **labels: str) -> dict[str, object]:
    alert: dict[str, object] = {
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": "s"},
        "startsAt": "2026-01-01T11:58:00Z",
        "generatorURL": "http://prom/graph",
    }
    if ends:
        alert["endsAt"] = ends
    return alert


def test_prometheus_v2_resends_deduplicate_and_past_ends_at_resolves(h: Harness) -> None:
    url, hdr = "/api/v2/alerts", h.intake()
    future = (h.clock.now() + timedelta(minutes=4)).isoformat()
    for _ in range(3):  # Prometheus re-sends every evaluation
        r = h.client.post(
            url,
            json=[_prom("CheckoutDown", future, job="checkout", severity="critical")],
            headers=hdr,
        )
        assert r.status_code == 200, r.text
    [inc] = h.incidents()
    assert inc["alert_count"] == 1 and inc["severity"] == "P0"
    assert h.incident(inc["id"])["alerts"][0]["receive_count"] == 3
    past = (h.clock.now() - timedelta(seconds=1)).isoformat()
    r = h.client.post(
        url, json=[_prom("CheckoutDown", past, job="checkout", severity="critical")], headers=hdr
    )
    assert r.json()["outcomes"] == {"resolved": 1}
    assert h.incidents()[0]["status"] == "resolved"


def test_prometheus_and_alertmanager_paths_share_the_fingerprint(h: Harness) -> None:
    labels = {"job": "checkout", "severity": "critical"}
    h.client.post(
        "/api/v2/alerts", json=[_prom("CheckoutDown", None, **labels)], headers=h.intake()
    )
    out = h.post_am(am_body(am_alert("CheckoutDown", **labels)))
    assert out["outcomes"] == {"deduplicated": 1}


def test_events_trigger_acknowledge_resolve_by_dedup_key(h: Harness) -> None:
    hdr = h.intake()
    trig = {
        "event_action": "trigger",
        "dedup_key": "disk-full-db1",
        "payload": {
            "summary": "Disk 95% on db1",
            "source": "db1",
            "severity": "critical",
            "class": "DiskFull",
        },
    }
    r = h.client.post("/api/v1/events", json=trig, headers=hdr)
    assert r.status_code == 202, r.text
    assert r.json()["dedup_key"] == "disk-full-db1"
    inc_id = r.json()["incident_id"]
    r2 = h.client.post("/api/v1/events", json=trig, headers=hdr)  # a retry
    assert r2.status_code == 202 and r2.json()["incident_id"] == inc_id
    assert len(h.incidents()) == 1
    ack = h.client.post(
        "/api/v1/events",
        json={"event_action": "acknowledge", "dedup_key": "disk-full-db1"},
        headers=hdr,
    )
    assert ack.status_code == 202
    assert h.incident(inc_id)["status"] == "acknowledged"
    res = h.client.post(
        "/api/v1/events",
        json={"event_action": "resolve", "dedup_key": "disk-full-db1"},
        headers=hdr,
    )
    assert res.status_code == 202
    detail = h.incident(inc_id)
    assert detail["status"] == "resolved" and detail["severity"] == "P0"
    assert detail["title"].startswith("DiskFull")


def test_event_without_dedup_key_gets_one(h: Harness) -> None:
    trig = {
        "event_action": "trigger",
        "payload": {"summary": "x", "source": "y", "severity": "info"},
    }
    r = h.client.post("/api/v1/events", json=trig, headers=h.intake())
    assert r.status_code == 202 and len(r.json()["dedup_key"]) >= 16


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event_action": "trigger"}, "body"),
        ({"event_action": "explode", "dedup_key": "k"}, "event_action"),
        ({"event_action": "resolve"}, "body"),
        (
            {
                "event_action": "trigger",
                "payload": {"summary": "x", "source": "y", "severity": "bad"},
            },
            "payload.severity",
        ),
    ],
)
def test_bad_events_name_the_field(h: Harness, body: dict[str, object], field: str) -> None:
    r = h.client.post("/api/v1/events", json=body, headers=h.intake())
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field


def test_a_bad_alert_in_a_batch_stores_nothing(h: Harness) -> None:
    good = am_alert("CheckoutDown", job="checkout")
    bad = {**am_alert("Broken"), "labels": {"alertname": ["not", "a", "string"]}}
    r = h.client.post(
        "/api/v1/integrations/alertmanager", json=am_body(good, bad), headers=h.intake()
    )
    assert r.status_code == 422 and r.json()["field"] == "alerts.1.labels.alertname"
    assert h.incidents() == []


def test_intake_is_scoped_to_the_tokens_tenant(h: Harness) -> None:
    h.post_am(am_body(am_alert("CheckoutDown", job="checkout")), tenant="globex")
    assert h.incidents("acme") == []
    assert len(h.incidents("globex")) == 1


def test_intake_refuses_api_tokens_and_missing_tokens(h: Harness) -> None:
    body = am_body(am_alert("X"))
    assert h.client.post("/api/v1/integrations/alertmanager", json=body).status_code == 401
    r = h.client.post(
        "/api/v1/integrations/alertmanager", json=body, headers=h.auth("acme", "admin")
    )
    assert r.status_code == 403
    r = h.client.post(
        "/api/v1/integrations/alertmanager",
        json=body,
        headers={"Authorization": "Bearer opsb_nope"},
    )
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_alert_whose_ends_at_passes_without_resend_resolves(h: Harness) -> None:
    from opsbook.api.app import expire_once

    future = (h.clock.now() + timedelta(minutes=4)).isoformat()
    r = h.client.post(
        "/api/v2/alerts", json=[_prom("CheckoutDown", future, job="checkout")], headers=h.intake()
    )
    inc_id = r.json()["incidents"][0]
    state = h.client.app.state.opsbook  # type: ignore[attr-defined]
    h.clock.advance(minutes=3)
    assert expire_once(state) == 0
    h.clock.advance(minutes=2)  # Prometheus stopped re-sending: endsAt is now in the past
    assert expire_once(state) == 1
    detail = h.incident(inc_id)
    assert detail["status"] == "resolved" and detail["alerts"][0]["status"] == "resolved"
    assert expire_once(state) == 0
