"""Reports over HTTP on SQLite and PostgreSQL: a scripted history driven by the frozen clock.

acme (clock starts 2026-01-01 12:00 UTC; P0 ack window 5 min):
    I1 P0 CheckoutErrors   alert startsAt 11:59, opened 12:00, ack +2m, alert resolves +10m
    I2 P0 CheckoutErrors   startsAt 12:57, opened 13:00, ack +4m, alert resolves +20m
    I3 P0 CheckoutLatency  startsAt 13:52, opened 14:00, ack +9m (late), alert resolves +30m
    I4 P1 declared on search-indexer 15:00, closed as false positive +5m (never acknowledged)
globex: one P0 LedgerDown at 16:00 acknowledged after 1 min (must not show in acme's figures).

By hand: MTTA 2,4,9 min → mean 300 s, median 240 s, p90 540 s; MTTD 1,3,8 min → 240/180/480 s;
MTTR 10,20,30,5 min → mean 975 s, median 900 s, p90 1800 s; one ack breach (I3); false
positives 1 of 1 closed; P0 MTTR mean 1200 s misses the 15 min target, MTTD 4 min meets 5 min.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from opsbook.flows.reports import metric_source
from tests.support.app import Harness, am_alert, am_body, running_app


@pytest.fixture
def hh(db_url: str) -> Iterator[Harness]:
    with running_app(db_url, run_worker=False) as harness:  # no background ticks: exact figures
        yield harness


def _alert(name: str, starts: datetime, status: str = "firing", **labels: str) -> dict[str, Any]:
    a = am_alert(name, status, **labels)
    a["startsAt"] = starts.isoformat().replace("+00:00", "Z")
    if status == "resolved":
        a["endsAt"] = datetime.now().isoformat() + "Z"
    return a


def _incident(h: Harness, name: str, detect_min: int, ack_min: int, resolve_min: int) -> str:
    opened = h.clock.now()
    alert = _alert(
        name, opened - timedelta(minutes=detect_min), job="checkout", severity="critical"
    )
    iid: str = h.post_am(am_body(alert))["incidents"][0]
    h.clock.advance(minutes=ack_min)
    r = h.client.post(f"/api/v1/incidents/{iid}/acknowledge", headers=h.auth("acme", "responder"))
    assert r.status_code == 200, r.text
    h.clock.advance(minutes=resolve_min - ack_min)
    resolved = {**alert, "status": "resolved", "endsAt": h.clock.now().isoformat()}
    h.post_am(am_body(resolved))
    assert h.incident(iid)["status"] == "resolved"
    return iid


def _history(h: Harness) -> list[str]:
    start = h.clock.now()  # 2026-01-01 12:00 UTC
    ids = [_incident(h, "CheckoutErrors", 1, 2, 10)]
    h.clock.set(start + timedelta(hours=1))
    ids.append(_incident(h, "CheckoutErrors", 3, 4, 20))
    h.clock.set(start + timedelta(hours=2))
    ids.append(_incident(h, "CheckoutLatency", 8, 9, 30))
    h.clock.set(start + timedelta(hours=3))
    r = h.client.post(
        "/api/v1/incidents",
        json={"service": "search-indexer", "severity": "P1", "title": "indexer lag?"},
        headers=h.auth("acme", "responder"),
    )
    declared = r.json()["id"]
    h.clock.advance(minutes=5)
    r = h.client.post(
        f"/api/v1/incidents/{declared}/close",
        json={"reason": "false_positive"},
        headers=h.auth("acme", "commander"),
    )
    assert r.status_code == 200, r.text
    ids.append(declared)
    h.clock.set(start + timedelta(hours=4))
    ledger = _alert("LedgerDown", h.clock.now(), service="ledger", severity="critical")
    gid = h.post_am(am_body(ledger), tenant="globex")["incidents"][0]
    h.clock.advance(minutes=1)
    h.client.post(f"/api/v1/incidents/{gid}/acknowledge", headers=h.auth("globex", "responder"))
    h.clock.set(start + timedelta(hours=6))
    return ids


def _report(h: Harness, tenant: str = "acme", **params: str) -> dict[str, Any]:
    r = h.client.get("/api/v1/reports", params=params, headers=h.auth(tenant, "viewer"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_report_figures_match_the_hand_computed_history(hh: Harness) -> None:
    _history(hh)
    r = _report(hh, since="30d")
    o = r["overall"]
    assert r["tenant"] == "acme" and o["incidents"] == 4
    assert o["mtta_seconds"] == {"count": 3, "mean": 300.0, "median": 240.0, "p90": 540.0}
    assert o["mttd_seconds"] == {"count": 3, "mean": 240.0, "median": 180.0, "p90": 480.0}
    assert o["mttr_seconds"] == {"count": 4, "mean": 975.0, "median": 900.0, "p90": 1800.0}
    assert o["ack_breaches"] == 1
    assert (o["closed"], o["false_positives"], o["false_positive_rate"]) == (1, 1, 1.0)
    p0 = r["by_severity"]["P0"]
    assert p0["mttr_seconds"] == {"count": 3, "mean": 1200.0, "median": 1200.0, "p90": 1800.0}
    assert set(r["by_service"]) == {"checkout-api", "search-indexer"}
    assert r["by_service"]["search-indexer"]["mttr_seconds"]["mean"] == 300.0
    assert [(a["alertname"], a["incidents"]) for a in r["noisy_alerts"]] == [
        ("CheckoutErrors", 2),
        ("CheckoutLatency", 1),
    ]
    targets = {t["name"]: t["met"] for t in r["targets"]}
    assert targets == {
        "MTTR P0": False,
        "MTTD": True,
        "False positives": False,
        "Runbook accuracy": None,  # no step ran (no worker): not tested, not failed
    }


def test_report_period_and_filters(hh: Harness) -> None:
    _history(hh)
    # 12:30–14:30 holds I2 and I3 only: MTTA 4 and 9 min
    r = _report(hh, since="2026-01-01T12:30:00Z", until="2026-01-01T14:30:00Z")
    assert r["overall"]["incidents"] == 2
    assert r["overall"]["mtta_seconds"] == {
        "count": 2,
        "mean": 390.0,
        "median": 390.0,
        "p90": 540.0,
    }
    assert r["period"]["since"].startswith("2026-01-01T12:30:00")
    # since=1h back from 18:00 holds nothing of acme
    assert _report(hh, since="1h")["overall"]["incidents"] == 0
    assert _report(hh, severity="P1")["overall"]["incidents"] == 1
    assert _report(hh, service="checkout-api")["overall"]["incidents"] == 3
    bad = hh.client.get("/api/v1/reports", params={"since": "soon"}, headers=hh.auth())
    assert bad.status_code == 422 and bad.json()["field"] == "since"


def test_report_is_scoped_to_the_callers_tenant(hh: Harness) -> None:
    ids = _history(hh)
    g = _report(hh, tenant="globex")
    assert g["overall"]["incidents"] == 1
    assert g["overall"]["mtta_seconds"]["mean"] == 60.0
    assert not any(i in str(g) for i in ids)
    assert "CheckoutErrors" not in str(g)
    assert "LedgerDown" not in str(_report(hh))


def test_report_figures_on_metrics(hh: Harness) -> None:
    _history(hh)
    st = hh.client.app.state.opsbook  # type: ignore[attr-defined]
    st.metrics.watch_reports(
        metric_source(st.sessions, lambda: st.config, st.clock)
    )  # the app hook
    text = hh.client.get("/metrics").text
    lbl = 'service="checkout-api",severity="P0",stat="mean",tenant="acme"'
    assert f"opsbook_report_mtta_seconds{{{lbl}}} 300.0" in text
    assert f"opsbook_report_mttr_seconds{{{lbl}}} 1200.0" in text
    assert (
        'opsbook_report_false_positive_ratio{service="search-indexer",severity="P1",tenant="acme"} 1.0'
        in text
    )
    assert 'opsbook_report_incidents{service="ledger",severity="P0",tenant="globex"} 1.0' in text


def test_cli_report_renders_targets(hh: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from opsbook.cli.report import render

    _history(hh)
    text = render(_report(hh))
    assert "✗  MTTR P0" in text and "✓  MTTD" in text and "–  Runbook accuracy" in text
    assert "5m 00s / 4m 00s / 9m 00s" in text  # MTTA mean / median / p90 of all incidents
