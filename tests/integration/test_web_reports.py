"""The reports page over HTTP (TestClient, SQLite and PostgreSQL) on a scripted history driven by
the frozen clock and the API, with figures computed by hand; its SVG charts parse as XML, carry
their series, are accessible, and escape hostile alert names.

acme (clock starts Thu 2026-01-01 12:00 UTC; P0 acknowledge within 5 min; page read at
Thu 2026-01-15 18:00, so weekly buckets start at 18:00 on Jan 08, Jan 01, Dec 25, Dec 18 and the
partial first one at Dec 16 18:00):
    I1 P0 CheckoutErrors   Jan 01 12:00, alert began 1 min before, ack +2 min, resolved +10 min
    I2 P0 CheckoutErrors   Jan 01 13:00, 3 min before, ack +4 min, resolved +20 min
    I3 P0 CheckoutLatency  Jan 09 12:00, 2 min before, ack +6 min (late), resolved +30 min
    I4 P1 declared         Jan 10 12:00 on search-indexer, closed as false positive after 5 min
globex: a P0 LedgerDown on Jan 02 (must not show in acme's page).

By hand, last 30 days: 4 incidents; MTTA 2, 4, 6 min → mean 240 s, median 240 s, p90 360 s;
MTTD 1, 3, 2 min → mean 120 s; MTTR 10, 20, 30, 5 min → mean 975 s; P0 MTTR 20 min misses the
15 min target, MTTD 2 min meets 5 min, 1 of 1 closed is a false positive (missed), runbook
accuracy has no data; one acknowledgement breach (I3).
Per week: Dec 25 → MTTA 3 min (I1, I2), P0 MTTR 15 min; Jan 01 → none; Jan 08 → MTTA 6 min (I3),
P0 MTTR 30 min. Last 7 days: I3 and I4 only.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from opsbook.storage.db import make_engine, make_sessionmaker
from opsbook.storage.tables import Incident
from opsbook.web.sessions import save_user
from tests.support.app import Harness, am_alert, am_body, running_app
from tests.support.web import PASSWORD, sign_in

NS = "{http://www.w3.org/2000/svg}"
_SVG = re.compile(r"<svg\b.*?</svg>", re.S)


@pytest.fixture
def hh(db_url: str) -> Iterator[Harness]:
    with running_app(db_url, run_worker=False) as h:  # no background ticks: exact figures
        engine = make_engine(h.url)
        with make_sessionmaker(engine).begin() as s:
            save_user(s, "acme", "vera", "viewer", PASSWORD, h.clock.now())
            save_user(s, "globex", "carmen", "commander", PASSWORD, h.clock.now())
        engine.dispose()
        yield h


def _alert(name: str, starts: datetime, **labels: str) -> dict[str, Any]:
    a = am_alert(name, **labels)
    a["startsAt"] = starts.isoformat().replace("+00:00", "Z")
    return a


def _incident(h: Harness, name: str, detect: int, ack: int, resolve: int) -> str:
    opened = h.clock.now()
    alert = _alert(name, opened - timedelta(minutes=detect), job="checkout", severity="critical")
    iid: str = h.post_am(am_body(alert))["incidents"][0]
    h.clock.advance(minutes=ack)
    r = h.client.post(f"/api/v1/incidents/{iid}/acknowledge", headers=h.auth("acme", "responder"))
    assert r.status_code == 200, r.text
    h.clock.advance(minutes=resolve - ack)
    h.post_am(am_body({**alert, "status": "resolved", "endsAt": h.clock.now().isoformat()}))
    assert h.incident(iid)["status"] == "resolved"
    return iid


def _history(h: Harness) -> None:
    start = h.clock.now()  # Thu 2026-01-01 12:00 UTC
    _incident(h, "CheckoutErrors", 1, 2, 10)
    h.clock.set(start + timedelta(hours=1))
    _incident(h, "CheckoutErrors", 3, 4, 20)
    h.clock.set(start + timedelta(days=1))
    ledger = _alert("LedgerDown", h.clock.now(), service="ledger", severity="critical")
    h.post_am(am_body(ledger), tenant="globex")
    h.clock.set(start + timedelta(days=8))
    _incident(h, "CheckoutLatency", 2, 6, 30)
    h.clock.set(start + timedelta(days=9))
    r = h.client.post(
        "/api/v1/incidents",
        json={"service": "search-indexer", "severity": "P1", "title": "indexer lag?"},
        headers=h.auth("acme", "responder"),
    )
    assert r.status_code == 201, r.text
    h.clock.advance(minutes=5)
    r = h.client.post(
        f"/api/v1/incidents/{r.json()['id']}/close",
        json={"reason": "false_positive"},
        headers=h.auth("acme", "commander"),
    )
    assert r.status_code == 200, r.text
    h.clock.set(start + timedelta(days=14, hours=6))


def _svgs(html: str) -> dict[str, ET.Element]:
    """Every inline chart parsed by xml.etree (fails on ill-formed SVG), by its id."""
    out = {}
    for text in _SVG.findall(html):
        el = ET.fromstring(text)
        out[el.attrib["id"]] = el
    return out


def _values(svg: ET.Element) -> list[float]:
    return [float(r.attrib["data-value"]) for r in svg.iter(f"{NS}rect")]


def _target(svg: ET.Element) -> float:
    [line] = [x for x in svg.iter(f"{NS}line") if "stroke-dasharray" in x.attrib]
    return float(line.attrib["data-value"])


def _row(html: str, attr: str, key: str) -> str:
    m = re.search(rf'<tr {attr}="{re.escape(key)}">(.*?)</tr>', html, re.S)
    assert m, key
    return m.group(1)


def test_reports_page_shows_the_hand_computed_figures_and_charts(hh: Harness) -> None:
    _history(hh)
    c = hh.client
    sign_in(c, "vera")  # a viewer may read reports
    r = c.get("/ui/reports")
    assert r.status_code == 200
    html = r.text
    assert 'id="incident-count">4<' in html
    assert '<option value="30d" selected>' in html
    mtta = _row(html, "data-metric", "mtta")
    assert re.findall(r'<data value="(\d+)">', mtta) == ["240", "240", "360"]
    assert ">4m 00s<" in mtta and ">6m 00s<" in mtta and "<td>3</td>" in mtta
    assert '<data value="120">2m 00s</data>' in _row(html, "data-metric", "mttd")
    assert '<data value="975">16m 15s</data>' in _row(html, "data-metric", "mttr")
    assert 'id="ack-breaches">1<' in html
    assert "1 of 1 closed (100.0 %)" in html
    targets = {
        name: _row(html, "data-target", name)
        for name in ("MTTR P0", "MTTD", "False positives", "Runbook accuracy")
    }
    assert "20m 00s" in targets["MTTR P0"] and ">missed<" in targets["MTTR P0"]
    assert "2m 00s" in targets["MTTD"] and ">met<" in targets["MTTD"]
    assert ">missed<" in targets["False positives"]
    assert ">no data<" in targets["Runbook accuracy"]
    assert "LedgerDown" not in html  # globex's incident

    charts = _svgs(html)
    assert set(charts) == {"chart-mtta", "chart-mttd", "chart-mttr", "chart-severity",
                           "chart-noisy"}  # fmt: skip
    for svg in charts.values():
        assert svg.attrib["role"] == "img" and svg.attrib["aria-label"]
        assert svg.find(f"{NS}title") is not None and svg.find(f"{NS}desc") is not None
    mtta_svg = charts["chart-mtta"]
    labels = [t.text for t in mtta_svg.iter(f"{NS}text")]
    assert [x for x in labels if x and x[:3] in ("Dec", "Jan")] == [
        "Dec 16", "Dec 18", "Dec 25", "Jan 01", "Jan 08"
    ]  # fmt: skip
    assert _values(mtta_svg) == [180.0, 360.0]  # Dec 25 week (I1, I2) and Jan 08 week (I3)
    assert _target(mtta_svg) == 300.0  # the P0 acknowledgement deadline
    tips = [t.text or "" for t in mtta_svg.iter(f"{NS}title")]
    assert any(t.startswith("Jan 01: no data") for t in tips)  # the quiet week is not a zero
    assert _values(charts["chart-mttr"]) == [900.0, 1800.0]  # P0 only: (10+20)/2, 30 min
    assert _target(charts["chart-mttr"]) == 900.0
    assert _values(charts["chart-mttd"]) == [120.0, 120.0]  # (1+3)/2, 2 min
    assert _target(charts["chart-mttd"]) == 300.0
    assert _values(charts["chart-severity"]) == [3.0, 1.0, 0.0, 0.0]  # P0, P1, P2, P3
    noisy = charts["chart-noisy"]
    assert _values(noisy) == [2.0, 1.0]
    assert [t.text for t in noisy.iter(f"{NS}text")][0::2] == ["CheckoutErrors", "CheckoutLatency"]


def test_reports_period_select(hh: Harness) -> None:
    _history(hh)
    c = hh.client
    sign_in(c, "vera")
    week = c.get("/ui/reports", params={"since": "7d"}).text
    assert 'id="incident-count">2<' in week and '<option value="7d" selected>' in week
    charts = _svgs(week)
    bars = [g for g in charts["chart-mtta"].iter(f"{NS}g") if g.get("class") == "chart-bar"]
    assert len(bars) == 7  # one per day
    assert _values(charts["chart-mtta"]) == [360.0]
    assert _values(charts["chart-noisy"]) == [1.0]
    whole = c.get("/ui/reports", params={"since": "90d"}).text
    assert 'id="incident-count">4<' in whole
    odd = c.get("/ui/reports", params={"since": "<script>"}).text
    assert 'id="incident-count">4<' in odd and "<script>" not in odd.split("</head>")[1]


def test_reports_need_a_session_and_are_scoped_to_the_tenant(hh: Harness) -> None:
    _history(hh)
    c = hh.client
    r = c.get("/ui/reports", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/login"
    sign_in(c, "carmen")
    html = c.get("/ui/reports").text
    assert 'id="incident-count">1<' in html and "LedgerDown" in html
    assert "CheckoutErrors" not in html


def test_hostile_alert_names_are_escaped_in_the_charts(hh: Harness) -> None:
    evil = '</title><script>alert(1)</script><text onload="x">&amp;\x01'
    hh.post_am(am_body(am_alert(evil, job="checkout", severity="critical")))
    hh.clock.advance(minutes=1)
    sign_in(hh.client, "vera")
    html = hh.client.get("/ui/reports").text
    assert "<script>alert(1)" not in html and "<text onload" not in html
    assert "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    noisy = _svgs(html)["chart-noisy"]  # parses: the control character was dropped
    titles = [t.text or "" for t in noisy.iter(f"{NS}title")]
    assert any(
        t.startswith('</title><script>alert(1)</script><text onload="x">&amp;') for t in titles
    )
    assert [e.tag for e in noisy.iter()].count(f"{NS}script") == 0


def test_reports_page_leaves_drills_out_unless_the_box_is_ticked(hh: Harness) -> None:
    _history(hh)
    st = hh.client.app.state.opsbook  # type: ignore[attr-defined]
    with st.sessions() as s:
        first = s.scalars(
            select(Incident).where(Incident.tenant == "acme").order_by(Incident.created_at)
        ).first()
        assert first is not None
        first.drill_run_id = "drill-1"
        s.commit()
    c = hh.client
    sign_in(c, "vera")
    plain = c.get("/ui/reports").text
    assert 'id="incident-count">3<' in plain
    assert 'name="drills" value="1" >' in plain  # the box, not ticked
    ticked = c.get("/ui/reports", params={"drills": "1"}).text
    assert 'id="incident-count">4<' in ticked and 'value="1" checked>' in ticked
