"""Storms and backpressure through the real app (SQLite and PostgreSQL): a storming service's new
alerts join one storm incident that pages once, a P0 still opens its own; a request over the
per-request alert limit is refused whole; a deep backlog shows on /metrics, /readyz and the UI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.app import Harness, am_alert, am_body, running_app
from tests.support.web import add_web_users, sign_in

CONFIG = """
tenants: [{name: acme}]
users:
  - {name: alice, tenant: acme, role: commander, contacts: ["json://127.0.0.1:9/alice"]}
  - {name: bob, tenant: acme, role: responder}
  - {name: vera, tenant: acme, role: viewer}
  - {name: ada, tenant: acme, role: admin}
schedules:
  - name: primary
    tenant: acme
    rotation: {every: 1w, handoff: "Mon 09:00", participants: [alice]}
escalation_policies:
  - name: platform
    tenant: acme
    steps:
      - {notify: {schedule: primary}}
services:
  - {name: checkout-api, tenant: acme, escalation_policy: platform}
  - {name: search, tenant: acme, escalation_policy: platform}
  - {name: catchall, tenant: acme}
  - {name: globex-catchall, tenant: acme}
routes:
  - {match: {job: checkout}, service: checkout-api, storm: {threshold: 3, window: 1m}}
  - {match: {job: search}, service: search, storm: off}
severity_map: {critical: P0, warning: P2, info: P3}
storm: {threshold: 1000, window: 5m}
"""


@pytest.fixture
def h(db_url: str) -> Iterator[Harness]:
    with running_app(db_url, CONFIG, run_worker=False) as harness:
        yield harness


def _alerts(job: str, names: range, severity: str = "info") -> dict[str, Any]:
    return am_body(*(am_alert(f"Check{i}", job=job, severity=severity) for i in names))


def _escalations(h: Harness) -> set[str]:
    """The incidents being paged (one escalation row each)."""
    from sqlalchemy import select

    from opsbook.storage.tables import Escalation

    st = h.client.app.state.opsbook  # type: ignore[attr-defined]
    with st.sessions() as s:
        return set(s.scalars(select(Escalation.incident_id)))


def test_a_storm_joins_one_incident_that_pages_once_and_a_p0_pages_on_its_own(h: Harness) -> None:
    first = h.post_am(_alerts("checkout", range(3)))
    assert first["outcomes"] == {"opened": 3}
    storm = h.post_am(_alerts("checkout", range(3, 40)))
    assert storm["outcomes"] == {"storm": 37} and len(storm["incidents"]) == 1
    more = h.post_am(_alerts("checkout", range(40, 45)))  # a later request joins the same storm
    assert more["outcomes"] == {"storm": 5} and more["incidents"] == storm["incidents"]
    p0 = h.post_am(am_body(am_alert("CheckoutDown", job="checkout", severity="critical")))
    assert p0["outcomes"] == {"opened": 1} and p0["incidents"] != storm["incidents"]

    [storm_id] = storm["incidents"]
    detail = h.incident(storm_id)
    assert detail["title"] == "Alert storm on checkout-api: 42 alerts across 42 alertnames"
    assert detail["alert_count"] == 42 and detail["severity"] == "P3"
    notes = [(e["kind"], e["message"]) for e in detail["timeline"]]
    assert notes[0][0] == "opened" and "3 incidents opened within 1m" in notes[0][1]
    joined = [m for k, m in notes if k == "alert_firing"]
    assert len(joined) == 2  # one entry per request, never one per alert
    assert joined[0].startswith("37 alerts joined the storm: Check3, Check4")
    assert "(+29 more alertnames)" in joined[0]
    assert len(h.incidents()) == 3 + 1 + 1
    paged = _escalations(h)  # the three first incidents, the storm once, the P0 on its own
    assert storm_id in paged and p0["incidents"][0] in paged and len(paged) == 5


def test_a_storm_raises_its_severity_and_calms_down_after_the_window(h: Harness) -> None:
    h.post_am(_alerts("checkout", range(3)))
    [storm_id] = h.post_am(_alerts("checkout", range(3, 6)))["incidents"]
    h.post_am(am_body(am_alert("CheckoutSlow", job="checkout", severity="warning")))
    detail = h.incident(storm_id)
    assert detail["severity"] == "P2" and detail["title"].endswith("4 alerts across 4 alertnames")
    assert any(
        e["kind"] == "severity_changed" and "P3 to P2" in e["message"] for e in detail["timeline"]
    )
    again = h.post_am(_alerts("checkout", range(3, 6)))  # re-sent storm members deduplicate
    assert again["outcomes"] == {"deduplicated": 3}

    h.clock.advance(minutes=2)
    calm = h.post_am(_alerts("checkout", range(100, 102)))
    assert calm["outcomes"] == {"opened": 2}
    messages = [e["message"] for e in h.incident(storm_id)["timeline"]]
    assert "the storm on checkout-api calmed down" in messages[-1]


def test_a_storm_opened_and_raised_within_one_request(h: Harness) -> None:
    body = _alerts("checkout", range(5))
    body["alerts"].append(am_alert("CheckoutSlow", job="checkout", severity="warning"))
    r = h.post_am(body)
    assert r["outcomes"] == {"opened": 3, "storm": 3}
    [storm] = [i for i in h.incidents() if i["title"].startswith("Alert storm")]
    assert storm["severity"] == "P2" and storm["alert_count"] == 3


def test_storm_off_on_a_route_opens_every_incident(h: Harness) -> None:
    r = h.post_am(_alerts("search", range(30)))
    assert r["outcomes"] == {"opened": 30} and len(h.incidents()) == 30


def test_a_request_over_the_alert_limit_is_refused_whole(db_url: str) -> None:
    with running_app(db_url, CONFIG, run_worker=False, max_alerts_per_request=5) as h:
        over = h.client.post(
            "/api/v1/integrations/alertmanager",
            json=_alerts("search", range(6)),
            headers=h.intake(),
        )
        assert over.status_code == 413 and over.headers["content-type"].startswith(
            "application/problem+json"
        )
        body = over.json()
        assert body["field"] == "alerts" and "at most 5 are accepted" in body["detail"]
        assert "OPSBOOK_MAX_ALERTS_PER_REQUEST" in body["detail"]
        postable = [
            {"labels": {"alertname": f"A{i}", "job": "search"}, "annotations": {}} for i in range(6)
        ]
        v2 = h.client.post("/api/v2/alerts", json=postable, headers=h.intake())
        # Alertmanager's API v2 speaks JSON strings (docs/integrations.md)
        assert v2.status_code == 413 and v2.json().endswith("(field: body)")
        assert "at most 5 are accepted" in v2.json()
        assert h.incidents() == []  # all or nothing: none of the eleven was stored
        assert h.post_am(_alerts("search", range(5)))["outcomes"] == {"opened": 5}


def test_the_default_limit_is_a_thousand_alerts(h: Harness) -> None:
    r = h.client.post(
        "/api/v1/integrations/alertmanager",
        json=_alerts("search", range(1001)),
        headers=h.intake(),
    )
    assert (
        r.status_code == 413 and "1,001 alerts in one request; at most 1,000" in r.json()["detail"]
    )


def _gauge(text: str, name: str, queue: str | None = None) -> float:
    label = f'{{queue="{queue}"}}' if queue else ""
    for line in text.splitlines():
        if line.startswith(f"{name}{label} "):
            return float(line.split()[-1])
    raise AssertionError(f"{name}{label} not exported")


def test_a_deep_backlog_shows_on_metrics_readyz_and_the_ui(db_url: str) -> None:
    with running_app(
        db_url, CONFIG, run_worker=False, backlog_deep_items=20, backlog_deep_seconds=120
    ) as h:
        add_web_users(h)
        ready = h.client.get("/readyz").json()
        assert ready["backlog"] == "ok" and ready["waiting"] == "nothing waiting"
        assert _gauge(h.client.get("/metrics").text, "opsbook_backlog_deep") == 0
        assert sign_in(h.client, "alice").status_code == 303
        assert "Notifications are running late" not in h.client.get("/ui/backlog").text
        assert 'hx-get="/ui/backlog"' in h.client.get("/ui/").text

        h.post_am(_alerts("search", range(25)))  # 25 pages nobody has worked on yet
        metrics = h.client.get("/metrics").text
        assert _gauge(metrics, "opsbook_queue_depth", "escalate") == 25
        assert _gauge(metrics, "opsbook_queue_depth", "notification") == 0
        assert _gauge(metrics, "opsbook_backlog_deep") == 1
        ready = h.client.get("/readyz")
        assert ready.status_code == 200  # reported, not refused: every replica shares it
        assert ready.json()["backlog"] == "deep"
        assert ready.json()["waiting"] == "25 escalation ticks waiting, the oldest for 0s"
        banner = h.client.get("/ui/backlog").text
        assert "Notifications are running late" in banner and "25 escalation ticks" in banner

        h.clock.advance(minutes=3)  # fewer items, but waiting too long is deep too
        h.post_am(_alerts("search", range(100, 101)))
        metrics = h.client.get("/metrics").text
        assert _gauge(metrics, "opsbook_queue_oldest_seconds", "escalate") == 180


def test_a_p0_is_committed_before_the_storm_batches_queued_ahead_of_it(h: Harness) -> None:
    import asyncio

    from opsbook.flows.ingest import IngestBatch
    from opsbook.intake.sources import alertmanager

    st = h.client.app.state.opsbook  # type: ignore[attr-defined]
    now = h.clock.now()

    def batch(body: dict[str, Any]) -> IngestBatch:
        parsed = alertmanager.parse(
            alertmanager.WebhookV4.model_validate(body), now, st.config.alert_times.bounds()
        )
        return IngestBatch("acme", "alertmanager", parsed)

    storms = [batch(_alerts("search", range(i * 400, i * 400 + 400))) for i in range(4)]
    p0 = batch(am_body(am_alert("CheckoutDown", job="checkout", severity="critical")))
    done: list[str] = []

    async def submit(name: str, b: IngestBatch) -> None:
        await st.committer.submit(b)
        done.append(name)

    async def arrive() -> None:  # four storm requests in flight, then the P0
        await asyncio.gather(*(submit(f"storm{i}", b) for i, b in enumerate(storms)),
                             submit("P0", p0))  # fmt: skip

    # in the app's own event loop (a browser test's loop may be running in this thread)
    h.client.portal.call(arrive)  # type: ignore[attr-defined]
    assert done[0] == "P0" and sorted(done[1:]) == [f"storm{i}" for i in range(4)]
    r = h.client.get("/api/v1/incidents", params={"limit": 1}, headers=h.auth("acme", "viewer"))
    assert r.json()["total"] == 1601  # nothing lost by going first: storm off on this route
