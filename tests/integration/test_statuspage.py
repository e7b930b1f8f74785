"""The public status page over HTTP: no private field ever shows, tenants never mix, JSON has the
Statuspage shape, Atom parses in its namespace, overrides and maintenance change the state,
subscribers get one notice per update."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from opsbook.flows.statuspage import queue_maintenance_notices
from opsbook.statuspage.feed import ATOM_NS
from opsbook.storage import repos
from opsbook.storage.db import make_engine, make_sessionmaker
from opsbook.storage.tables_comms import StatusNoticeRow
from tests.support.app import (
    TEST_CONFIG,
    Harness,
    am_alert,
    am_body,
    confirmation_link,
    confirmed_subscriber,
    running_app,
)

CANARY_LABEL = "canary-label-7f3a"
CANARY_SUMMARY = "canary-summary-91bd"
CANARY_STEP = "canary-step-output-2c4e"
CANARY_COMMENT = "canary-comment-d00d"
CANARY_PERSON = "zedcanary"
CANARY_B = "globex-canary-component"
CANARIES = (CANARY_LABEL, CANARY_SUMMARY, CANARY_STEP, CANARY_COMMENT, CANARY_PERSON, "10.9.8.7")

CONFIG = (
    TEST_CONFIG.replace(
        "{name: checkout-api, tenant: acme,",
        # Web opts in to automatic publishing (the history test's unpublished P1 shows on it)
        "{name: checkout-api, tenant: acme, components: [API, Web], auto_publish: {Web: P1},",
    )
    .replace(
        "{name: search-indexer, tenant: acme}",
        "{name: search-indexer, tenant: acme, components: [Search]}",
    )
    .replace(
        "{name: ledger, tenant: globex,",
        f"{{name: ledger, tenant: globex, components: [{CANARY_B}],",
    )
    .replace(
        "  - {name: bob, tenant: acme, role: responder}",
        "  - {name: bob, tenant: acme, role: responder}\n"
        f"  - {{name: {CANARY_PERSON}, tenant: acme, role: commander}}",
    )
    + """
maintenance:
  - {name: weekly-index, tenant: acme, services: [search-indexer], cron: "0 2 * * 0",
     duration: 2h, timezone: Europe/Berlin, description: Search index rebuild}
"""
)


@pytest.fixture
def hs(db_url: str) -> Iterator[Harness]:
    with running_app(db_url, CONFIG) as harness:
        yield harness


def _private_incident(h: Harness) -> str:
    """A P0 incident on checkout-api full of private values: labels, summary, step output,
    comment, commander."""
    alert = am_alert(
        "CheckoutDown", job="checkout", severity="critical", pod=CANARY_LABEL, ip="10.9.8.7"
    )
    alert["annotations"]["summary"] = f"CheckoutDown {CANARY_SUMMARY}"
    inc_id: str = h.post_am(am_body(alert))["incidents"][0]
    cmd = h.auth("acme", "commander")
    assert (
        h.client.patch(
            f"/api/v1/incidents/{inc_id}", json={"commander": CANARY_PERSON}, headers=cmd
        ).status_code
        == 200
    )
    assert (
        h.client.post(
            f"/api/v1/incidents/{inc_id}/comment", json={"text": CANARY_COMMENT}, headers=cmd
        ).status_code
        == 201
    )
    engine = make_engine(h.url)
    with make_sessionmaker(engine).begin() as s:
        inc = repos.get_incident(s, "acme", inc_id)
        repos.add_entry(
            s,
            inc,
            h.clock.now(),
            "worker",
            "step",
            f"step ran: {CANARY_STEP}",
            {"stdout": CANARY_STEP},
        )
    engine.dispose()
    return inc_id


def _public(h: Harness, tenant: str = "acme") -> dict[str, Any]:
    page = h.client.get(f"/status/{tenant}")
    js = h.client.get(f"/status/{tenant}.json")
    feed = h.client.get(f"/status/{tenant}/feed.atom")
    for r in (page, js, feed):
        assert r.status_code == 200, r.text
    assert page.headers["content-type"].startswith("text/html")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    return {"html": page.text, "json": js.json(), "json_text": js.text, "atom": feed.text}


def _no_canary(pub: dict[str, Any]) -> None:
    for kind in ("html", "json_text", "atom"):
        for canary in CANARIES:
            assert canary not in pub[kind], f"{canary} leaked into the public {kind}"


def test_public_page_shows_no_private_field(hs: Harness) -> None:
    h = hs
    inc_id = _private_incident(h)
    cmd = h.auth("acme", "commander")
    draft = h.client.get(
        f"/api/v1/incidents/{inc_id}/status-updates/draft",
        params={"template": "investigating"},
        headers=cmd,
    )
    assert draft.status_code == 200, draft.text
    d = draft.json()
    assert d["title"] == "API and Web: unavailable" and d["status"] == "investigating"
    assert not any(c in draft.text for c in CANARIES), (
        "the prefilled draft must already be public-safe"
    )

    body = {
        "template": "investigating",
        "title": d["title"],
        "body": d["body"] + " <script>alert(1)</script>",
    }
    r = h.client.post(f"/api/v1/incidents/{inc_id}/status-updates", json=body, headers=cmd)
    assert r.status_code == 201, r.text
    assert r.json()["author"] == "acme-commander"  # kept internally …

    pub = _public(h)
    _no_canary(pub)
    assert "acme-commander" not in pub["html"] + pub["json_text"] + pub["atom"]  # … never shown
    assert inc_id not in pub["html"] + pub["json_text"] + pub["atom"]  # internal id hidden too
    assert "<script>alert(1)</script>" not in pub["html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pub["html"]
    j = pub["json"]
    assert j["status"] == {"indicator": "critical", "description": "Major System Outage"}
    assert {c["name"]: c["status"] for c in j["components"]} == {
        "API": "major_outage",
        "Web": "major_outage",
        "Search": "operational",
    }
    assert [i["name"] for i in j["incidents"]] == ["API and Web: unavailable"]
    assert j["incidents"][0]["updates"][0]["status"] == "investigating"
    assert j["incidents"][0]["updates"][0]["body"].startswith("We are investigating")
    assert set(j) == {"page", "status", "components", "incidents", "scheduled_maintenances"}

    # the timeline notes the publication (for the post-mortem), public text only
    timeline = h.incident(inc_id)["timeline"]
    assert any(e["kind"] == "status_update" for e in timeline)

    # resolving the public incident moves it to "past incidents"; still nothing private
    done = {"template": "resolved", "title": d["title"], "body": "All good again."}
    assert (
        h.client.post(
            f"/api/v1/incidents/{inc_id}/status-updates", json=done, headers=cmd
        ).status_code
        == 201
    )
    pub = _public(h)
    _no_canary(pub)
    assert pub["json"]["incidents"] == []
    assert "Past incidents" in pub["html"] and "All good again." in pub["html"]


def test_atom_feed_parses_in_the_atom_namespace(hs: Harness) -> None:
    h = hs
    inc_id = _private_incident(h)
    body = {"status": "identified", "title": "Checkout & payments", "body": "Fix <in> progress"}
    h.client.post(f"/api/v1/incidents/{inc_id}/status-updates", json=body, headers=h.auth())
    root = ET.fromstring(h.client.get("/status/acme/feed.atom").content)
    ns = {"a": ATOM_NS}
    assert root.tag == f"{{{ATOM_NS}}}feed"
    entries = root.findall("a:entry", ns)
    assert [e.findtext("a:title", namespaces=ns) for e in entries] == [
        "Checkout & payments (identified)"
    ]
    assert "Fix <in> progress" in (entries[0].findtext("a:content", namespaces=ns) or "")
    self_link = [ln for ln in root.findall("a:link", ns) if ln.get("rel") == "self"]
    assert self_link and self_link[0].get("href", "").endswith("/status/acme/feed.atom")


def test_tenants_never_mix(hs: Harness) -> None:
    h = hs
    b_inc = h.post_am(
        am_body(am_alert("LedgerDown", service="ledger", severity="critical")), tenant="globex"
    )
    b_id = b_inc["incidents"][0]
    b_update = {
        "status": "investigating",
        "title": "Ledger globex-secret-title",
        "body": "globex body",
    }
    r = h.client.post(
        f"/api/v1/incidents/{b_id}/status-updates",
        json=b_update,
        headers=h.auth("globex", "commander"),
    )
    assert r.status_code == 201, r.text
    pub = _public(h, "acme")
    for text in (pub["html"], pub["json_text"], pub["atom"]):
        assert CANARY_B not in text and "globex" not in text
    b_pub = _public(h, "globex")
    assert CANARY_B in b_pub["json_text"] and "Ledger globex-secret-title" in b_pub["atom"]
    a = h.auth("acme", "admin")
    assert (
        h.client.post(
            f"/api/v1/incidents/{b_id}/status-updates", json=b_update, headers=a
        ).status_code
        == 404
    )
    assert (
        h.client.get(f"/api/v1/incidents/{b_id}/status-updates/draft", headers=a).status_code == 404
    )
    assert h.client.get(f"/api/v1/incidents/{b_id}/status-updates", headers=a).status_code == 404
    assert (
        h.client.put(
            f"/api/v1/status/components/{CANARY_B}", json={"state": "major_outage"}, headers=a
        ).status_code
        == 404
    )
    assert h.client.get("/status/nosuchtenant").status_code == 404
    assert h.client.get("/status/nosuchtenant.json").status_code == 404


def test_override_maintenance_and_history(hs: Harness) -> None:
    h = hs
    from datetime import UTC, datetime

    h.clock.set(datetime(2026, 3, 29, 1, 30, tzinfo=UTC))  # inside the Berlin window (03:30 CEST)
    j = h.client.get("/status/acme.json").json()
    assert {c["name"]: c["status"] for c in j["components"]}["Search"] == "under_maintenance"
    assert j["status"]["indicator"] == "maintenance"
    assert [m["status"] for m in j["scheduled_maintenances"]][:1] == ["in_progress"]
    assert j["scheduled_maintenances"][0]["name"] == "Search index rebuild"

    put = {
        "state": "degraded_performance",
        "expires_at": (h.clock.now() + timedelta(hours=1)).isoformat(),
    }
    assert (
        h.client.put(
            "/api/v1/status/components/Web", json=put, headers=h.auth("acme", "responder")
        ).status_code
        == 403
    )
    r = h.client.put("/api/v1/status/components/Web", json=put, headers=h.auth("acme", "commander"))
    assert r.status_code == 200 and r.json()["state"] == "degraded_performance"
    assert {c["name"]: c["status"] for c in h.client.get("/status/acme.json").json()["components"]}[
        "Web"
    ] == "degraded_performance"
    h.clock.advance(hours=1)
    assert {c["name"]: c["status"] for c in h.client.get("/status/acme.json").json()["components"]}[
        "Web"
    ] == "operational"

    # a P1 incident yesterday leaves a partial-outage bar in the 90-day history
    h.clock.set(datetime(2026, 4, 1, 10, tzinfo=UTC))
    inc = h.post_am(am_body(am_alert("CheckoutSlow", job="checkout", severity="high")))[
        "incidents"
    ][0]
    h.clock.set(datetime(2026, 4, 1, 11, tzinfo=UTC))
    h.client.post(f"/api/v1/incidents/{inc}/resolve", json={"note": "ok"}, headers=h.auth())
    h.clock.set(datetime(2026, 4, 2, 9, tzinfo=UTC))
    html = h.client.get("/status/acme").text
    assert html.count('class="bar state-') == 90 * 3
    assert 'title="2026-04-01: Partial outage"' in html
    assert "99.95 % uptime" in html  # 60 outage minutes of 90 × 1440


def test_subscribers_get_one_notice_per_update(db_url: str) -> None:
    with running_app(db_url, CONFIG, secret_key="status-page-secret-0123456789") as h:
        _subscribers_get_one_notice_per_update(h)


def _subscribers_get_one_notice_per_update(h: Harness) -> None:
    r = h.client.post("/status/acme/subscribe", data={"email": "Reader@Example.com"})
    assert r.status_code == 202 and "open it to confirm" in r.text
    h.client.post(confirmation_link(h, "reader@example.com"))  # double opt-in
    confirmed_subscriber(h, "second@example.org")
    assert (
        h.client.post("/status/acme/subscribe", json={"email": "reader@example.com"}).status_code
        == 202
    )  # again: once
    assert (
        h.client.post("/status/acme/subscribe", json={"email": "not-an-email"}).status_code == 422
    )
    assert h.client.post("/status/nosuch/subscribe", json={"email": "a@b.io"}).status_code == 404
    h.client.post("/status/acme/subscribe", json={"email": "never@example.net"})  # not confirmed
    inc_id = _private_incident(h)
    body = {"template": "investigating", "title": "Checkout slow", "body": "Looking into it."}
    out = h.client.post(f"/api/v1/incidents/{inc_id}/status-updates", json=body, headers=h.auth())
    assert out.json()["notices_queued"] == 2
    engine = make_engine(h.url)
    with make_sessionmaker(engine).begin() as s:
        rows = s.scalars(select(StatusNoticeRow).where(StatusNoticeRow.kind == "update")).all()
        assert len(rows) == 2 and all(
            "Checkout slow" in n.subject and n.body == "Looking into it." for n in rows
        )
        # maintenance notices: queued once when the window is within notify_before (1h)
        from datetime import UTC, datetime

        before = datetime(2026, 4, 4, 23, 30, tzinfo=UTC)  # Sunday 02:00 CEST is 00:00Z
        assert queue_maintenance_notices(s, h.config, before) == 2
        assert queue_maintenance_notices(s, h.config, before + timedelta(minutes=10)) == 0
        subjects = [
            n.subject
            for n in s.scalars(select(StatusNoticeRow).where(StatusNoticeRow.kind == "maintenance"))
        ]
        assert subjects and all("2026-04-05 00:00" in t for t in subjects)
    engine.dispose()


def test_public_updates_need_a_commander(hs: Harness) -> None:
    h = hs
    inc_id = _private_incident(h)
    body = {"template": "investigating", "title": "t", "body": "b"}
    url = f"/api/v1/incidents/{inc_id}/status-updates"
    assert h.client.post(url, json=body, headers=h.auth("acme", "responder")).status_code == 403
    assert (
        h.client.post(url, json={**body, "components": ["Nope"]}, headers=h.auth()).status_code
        == 422
    )
    assert (
        h.client.get(url + "/draft", params={"template": "nope"}, headers=h.auth()).status_code
        == 422
    )
