"""Alertmanager API v2 contracts beyond amtool (tests/e2e/test_amtool.py): Grafana posting to
opsbook as its external Alertmanager, the Grafana webhook contact point, PagerDuty Events v2
clients authenticating with ``routing_key``, and Alertmanager's filter and error semantics."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.app import Harness, running_app


@pytest.fixture(scope="module")
def h(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """One app for the module (SQLite, no background worker: these contracts are about shapes
    and auth); each test looks only at the alerts and incidents it made."""
    db = tmp_path_factory.mktemp("am_v2") / "o.db"
    with running_app(f"sqlite:///{db}", run_worker=False) as harness:
        yield harness


@pytest.fixture
def hdb(db_url: str) -> Iterator[Harness]:
    """SQLite and PostgreSQL: the alert and silence queries run on both."""
    with running_app(db_url, run_worker=False) as harness:
        yield harness


def _basic(token: str, user: str = "grafana") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()}


def _grafana_alert(ends: str = "2026-01-01T12:04:00Z") -> dict[str, Any]:
    """What Grafana's external-Alertmanager sender posts for one alert rule instance."""
    return {
        "labels": {
            "alertname": "CheckoutErrors",
            "job": "checkout",
            "severity": "critical",
            "grafana_folder": "Payments",
            "__alert_rule_uid__": "fe2kq1x0",
        },
        "annotations": {
            "summary": "checkout 5xx above 5%",
            "__dashboardUid__": "abc123",
            "__panelId__": "4",
            "__value_string__": "[ var='B' labels={job=checkout} value=7.2 ]",
            "__values__": '{"B":7.2,"C":1}',
        },
        "startsAt": "2026-01-01T11:58:00Z",
        "endsAt": ends,
        "generatorURL": "http://grafana.local/alerting/grafana/fe2kq1x0/view?orgId=1",
    }


def test_grafana_as_external_alertmanager(h: Harness) -> None:
    token = h.tokens[("acme", "intake")]
    r = h.client.post("/api/v2/alerts", json=[_grafana_alert()], headers=_basic(token))
    assert r.status_code == 200, r.text
    [inc] = [i for i in h.incidents() if i["title"].startswith("CheckoutErrors")]
    assert inc["service"] == "checkout-api" and inc["severity"] == "P0"
    listed = h.client.get("/api/v2/alerts", headers=_basic(h.tokens[("acme", "viewer")]))
    assert listed.status_code == 200, listed.text
    [alert] = [a for a in listed.json() if a["labels"]["alertname"] == "CheckoutErrors"]
    assert alert["labels"]["grafana_folder"] == "Payments"
    assert alert["annotations"]["__values__"] == '{"B":7.2,"C":1}'
    assert alert["generatorURL"].startswith("http://grafana.local/alerting/")
    assert alert["receivers"] == [{"name": "checkout-api"}]
    groups = h.client.get("/api/v2/alerts/groups", headers=h.auth("acme", "viewer")).json()
    mine = [g for g in groups if g["labels"] == {"alertname": "CheckoutErrors"}]
    assert [(g["receiver"]["name"], len(g["alerts"])) for g in mine] == [("checkout-api", 1)]
    # Grafana sends the resolved instance with endsAt in the past: the incident resolves
    h.clock.advance(minutes=5)
    resolved = _grafana_alert(ends="2026-01-01T12:04:30Z")
    assert (
        h.client.post("/api/v2/alerts", json=[resolved], headers=_basic(token)).status_code == 200
    )
    assert h.incident(inc["id"])["status"] == "resolved"
    left = h.client.get("/api/v2/alerts", headers=h.auth("acme", "viewer")).json()
    assert [a for a in left if a["labels"]["alertname"] == "CheckoutErrors"] == []


def test_v2_errors_are_json_strings_naming_the_field(h: Harness) -> None:
    r = h.client.post("/api/v2/alerts", json=[{"annotations": {}}], headers=h.intake())
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/json"
    assert isinstance(r.json(), str) and "labels" in r.json()
    r = h.client.get("/api/v2/alerts", params={"filter": "not a matcher"}, headers=h.auth())
    assert (r.status_code, r.headers["content-type"]) == (400, "application/json")
    assert "filter[0]" in r.json()
    r = h.client.get("/api/v2/silences", headers={"Authorization": "Bearer opsb_nope"})
    assert (r.status_code, r.json()) == (401, "unknown or revoked token")
    r = h.client.get("/api/v2/silence/sil_missing", headers=h.auth())
    assert r.status_code == 404 and "no silence sil_missing" in r.json()
    # a matcher name must be a label name: "a=b" never sneaks an operator into the matcher
    bad = {"matchers": [{"name": "job=x", "value": "y", "isRegex": False}],
           "startsAt": "2026-01-01T12:00:00Z", "endsAt": "2026-01-01T13:00:00Z"}  # fmt: skip
    r = h.client.post("/api/v2/silences", json=bad, headers=h.auth("acme", "responder"))
    assert r.status_code == 400 and "matchers.0.name" in r.json()
    # v1 routes keep problem+json
    r = h.client.get("/api/v1/silences/sil_missing", headers=h.auth())
    assert r.headers["content-type"].startswith("application/problem+json")


def test_filters_and_silence_update(hdb: Harness) -> None:
    h = hdb
    am = [
        {"labels": {"alertname": "CheckoutDown", "job": "checkout", "env": "prod"}},
        {"labels": {"alertname": "IndexerLag", "queue": "q1", "env": "stage"}},
    ]
    assert h.client.post("/api/v2/alerts", json=am, headers=h.intake()).status_code == 200
    viewer = h.auth("acme", "viewer")

    def names(**params: Any) -> list[str]:
        r = h.client.get("/api/v2/alerts", params=params, headers=viewer)
        assert r.status_code == 200, r.text
        return sorted(a["labels"]["alertname"] for a in r.json())

    assert names() == ["CheckoutDown", "IndexerLag"]
    assert names(filter=['env=~"prod|qa"']) == ["CheckoutDown"]
    assert names(filter=["env!=prod", 'alertname=~"Index.*"']) == ["IndexerLag"]
    assert names(receiver="checkout-.*") == ["CheckoutDown"]
    assert names(receiver="checkout") == []  # anchored, as Alertmanager's
    assert names(active="false") == []  # nothing is silenced yet

    responder = h.auth("acme", "responder")
    body = {
        "matchers": [
            {"name": "job", "value": "checkout", "isRegex": False},
            {"name": "env", "value": "prod|qa", "isRegex": True, "isEqual": True},
        ],
        "startsAt": "2026-01-01T12:00:00Z",
        "endsAt": "2026-01-01T13:00:00Z",
        "createdBy": "someone",
        "comment": "deploy",
    }
    r = h.client.post("/api/v2/silences", json=body, headers=responder)
    assert r.status_code == 200, r.text
    first = r.json()["silenceID"]
    got = h.client.get(f"/api/v2/silence/{first}", headers=viewer).json()
    assert got["status"] == {"state": "active"} and got["comment"] == "deploy"
    assert got["matchers"][1] == {"name": "env", "value": "prod|qa", "isRegex": True,
                                  "isEqual": True}  # fmt: skip
    assert got["createdBy"] == "acme-responder"  # the token's name: who really did it
    # Alertmanager's update: the same id posted again expires it and makes a new one
    r = h.client.post("/api/v2/silences", json={**body, "id": first, "comment": "longer"},
                      headers=responder)  # fmt: skip
    assert r.status_code == 200, r.text
    second = r.json()["silenceID"]
    listed = h.client.get("/api/v2/silences", headers=viewer).json()
    assert [(s["id"], s["status"]["state"]) for s in listed] == [
        (second, "active"), (first, "expired")
    ]  # fmt: skip
    # the silence filter reads the silence's equality matchers, as Alertmanager's does
    only = h.client.get("/api/v2/silences", params={"filter": "job=checkout"}, headers=viewer)
    assert len(only.json()) == 2
    none = h.client.get("/api/v2/silences", params={"filter": "job=other"}, headers=viewer)
    assert none.json() == []
    # another tenant's silence id is not found, to read or to replace
    other = h.auth("globex", "responder")
    assert h.client.get(f"/api/v2/silence/{second}", headers=other).status_code == 404
    stolen = h.client.post("/api/v2/silences", json={**body, "id": second}, headers=other)
    assert stolen.status_code == 404
    assert h.client.delete(f"/api/v2/silence/{second}", headers=other).status_code == 404


def test_status_shows_routes_not_secrets(h: Harness) -> None:
    r = h.client.get("/api/v2/status", headers=h.auth("acme", "viewer"))
    assert r.status_code == 200
    body = r.json()
    assert body["cluster"]["status"] == "disabled"
    original = body["config"]["original"]
    assert "receiver: checkout-api" in original and "search-indexer" in original
    assert "ledger" not in original and "alice" not in original and "variables" not in original
    receivers = h.client.get("/api/v2/receivers", headers=h.auth("acme", "viewer")).json()
    assert receivers == [{"name": "acme-catchall"}, {"name": "checkout-api"},
                         {"name": "search-indexer"}]  # fmt: skip


# -- Grafana webhook contact point --------------------------------------------------------------


def _grafana_webhook(status: str = "firing") -> dict[str, Any]:
    return {
        "receiver": "opsbook",
        "status": status,
        "orgId": 1,
        "alerts": [
            {
                "status": status,
                "labels": {
                    "alertname": "CheckoutLatency",
                    "job": "checkout",
                    "severity": "warning",
                },
                "annotations": {"summary": "p99 above 2s"},
                "startsAt": "2026-01-01T11:55:00Z",
                "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-01-01T12:01:00Z",
                "generatorURL": "http://grafana.local/alerting/grafana/u1/view",
                "fingerprint": "57c6d9296de2ad39",
                "silenceURL": "http://grafana.local/alerting/silence/new?matcher=job%3Dcheckout",
                "dashboardURL": "http://grafana.local/d/abc123",
                "panelURL": "http://grafana.local/d/abc123?viewPanel=4",
                "values": {"B": 2.4, "C": 1},
                "valueString": "[ var='B' labels={job=checkout} value=2.4 ]",
            }
        ],
        "groupLabels": {"alertname": "CheckoutLatency"},
        "commonLabels": {"alertname": "CheckoutLatency", "job": "checkout"},
        "commonAnnotations": {"summary": "p99 above 2s"},
        "externalURL": "http://grafana.local/",
        "version": "1",
        "groupKey": '{}:{alertname="CheckoutLatency"}',
        "truncatedAlerts": 0,
        "title": "[FIRING:1] CheckoutLatency (checkout)",
        "state": "alerting",
        "message": "**Firing**\n\nValue: B=2.4",
    }


def test_grafana_webhook_contact_point(h: Harness) -> None:
    r = h.client.post("/api/v1/integrations/grafana", json=_grafana_webhook(), headers=h.intake())
    assert r.status_code == 200, r.text
    assert r.json()["outcomes"] == {"opened": 1}
    inc = h.incident(r.json()["incidents"][0])
    assert inc["service"] == "checkout-api" and inc["severity"] == "P2"
    [alert] = inc["alerts"]
    assert alert["fingerprint"] == "57c6d9296de2ad39"
    assert alert["annotations"]["dashboardURL"] == "http://grafana.local/d/abc123"
    assert alert["annotations"]["panelURL"].endswith("viewPanel=4")
    assert alert["annotations"]["silenceURL"].startswith("http://grafana.local/alerting/silence")
    assert alert["annotations"]["values"] == '{"B": 2.4, "C": 1}'
    # basic auth (Grafana's webhook username/password) works too; resolved resolves
    token = h.tokens[("acme", "intake")]
    r = h.client.post("/api/v1/integrations/grafana", json=_grafana_webhook("resolved"),
                      headers=_basic(token))  # fmt: skip
    assert r.status_code == 200 and r.json()["outcomes"] == {"resolved": 1}
    # a body with neither alerts nor a token is refused, naming why
    assert h.client.post("/api/v1/integrations/grafana", json={}).status_code == 401
    bad = h.client.post("/api/v1/integrations/grafana", json={"orgId": 1}, headers=h.intake())
    assert bad.status_code == 422 and bad.json()["field"] == "alerts"


# -- PagerDuty Events v2: routing_key in the body -----------------------------------------------


def _event(**extra: Any) -> dict[str, Any]:
    return {
        "event_action": "trigger",
        "dedup_key": "disk-db1",
        "payload": {"summary": "disk 95% on db1", "source": "db1", "severity": "critical"},
        **extra,
    }


def test_events_v2_routing_key_authenticates(h: Harness) -> None:
    token = h.tokens[("acme", "intake")]
    r = h.client.post("/api/v1/events", json=_event(routing_key=token))
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "success" and r.json()["dedup_key"] == "disk-db1"
    [inc] = [i for i in h.incidents() if "disk 95% on db1" in i["title"]]
    assert inc["severity"] == "P0"
    r = h.client.post("/api/v1/events", json={"event_action": "resolve", "dedup_key": "disk-db1",
                                              "routing_key": token})  # fmt: skip
    assert r.status_code == 202
    assert h.incident(inc["id"])["status"] == "resolved"
    # a wrong or missing key: 401 problem+json naming routing_key; an API token: 403
    wrong = h.client.post("/api/v1/events", json=_event(routing_key="opsb_wrong"))
    assert wrong.status_code == 401 and wrong.json()["field"] == "routing_key"
    assert wrong.headers["content-type"].startswith("application/problem+json")
    missing = h.client.post("/api/v1/events", json=_event())
    assert missing.status_code == 401 and "routing_key" in missing.json()["detail"]
    api = h.client.post("/api/v1/events", json=_event(routing_key=h.tokens[("acme", "admin")]))
    assert api.status_code == 403
    # the header still works, and wins over a body key
    assert h.client.post("/api/v1/events", json=_event(routing_key="x"),
                         headers=h.intake()).status_code == 202  # fmt: skip
