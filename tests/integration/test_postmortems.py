"""Post-mortems over HTTP on SQLite and PostgreSQL: draft on resolve, every event in order and in
UTC (JSON and Markdown), editing needs a commander, action items across incidents, tenancy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from opsbook.flows.postmortems import collect_reminders, draft_on_resolve
from opsbook.storage import repos
from opsbook.storage.tables import StepRun
from opsbook.storage.tables_learning import Postmortem
from tests.support.app import Harness, am_alert, am_body, running_app


@pytest.fixture
def hh(db_url: str) -> Iterator[Harness]:
    with running_app(db_url, run_worker=False) as harness:
        yield harness


def _sessions(h: Harness) -> Any:
    return h.client.app.state.opsbook.sessions  # type: ignore[attr-defined]


def _resolved_incident(h: Harness, name: str = "CheckoutErrors") -> str:
    """12:00 alert (startsAt 11:59) → 12:01 comment → 12:02 ack → 12:03 commander → 12:04
    escalation, status update, rollback step → 12:10 resolved by alice; then the resolve hook."""
    iid: str = h.post_am(am_body(am_alert(name, job="checkout", severity="critical")))["incidents"][
        0
    ]
    h.clock.advance(minutes=1)
    h.client.post(
        f"/api/v1/incidents/{iid}/comment",
        json={"text": "errors spike | after deploy"},
        headers=h.auth("acme", "responder"),
    )
    h.clock.advance(minutes=1)
    h.client.post(f"/api/v1/incidents/{iid}/acknowledge", headers=h.auth("acme", "responder"))
    h.clock.advance(minutes=1)
    h.client.patch(f"/api/v1/incidents/{iid}", json={"commander": "alice"}, headers=h.auth())
    h.clock.advance(minutes=1)
    now = h.clock.now()
    with _sessions(h).begin() as s:
        inc = repos.get_incident(s, "acme", iid)
        repos.add_entry(
            s, inc, now, "opsbook", "escalation", "escalation level 2: paging alice", {"level": 1}
        )
        repos.add_entry(
            s,
            inc,
            now,
            "alice",
            "status_update",
            "Investigating: checkout errors",
            {"status": "investigating"},
        )
        s.add(
            StepRun(
                id=f"run_{iid[-8:]}",
                tenant="acme",
                incident_id=iid,
                runbook_id="rb",
                section_id="sec",
                step_index=2,
                step_title="Roll back",
                kind="shell",
                safety="mutating",
                command="kubectl rollout undo deploy/checkout",
                binding="x",
                variables={},
                status="ok",
                automatic=False,
                requested_by="bob",
                requested_at=now,
                started_at=now,
                finished_at=now,
                result={"status": "ok", "summary": "rolled back to revision 41"},
            )
        )
    h.clock.advance(minutes=6)
    r = h.client.post(
        f"/api/v1/incidents/{iid}/resolve", json={"note": "rollback"}, headers=h.auth()
    )
    assert r.status_code == 200, r.text
    with _sessions(h).begin() as s:  # what flows.incidents.resolve calls (hook)
        inc = repos.get_incident(s, "acme", iid)
        draft_on_resolve(s, inc, h.clock.now())
        draft_on_resolve(s, inc, h.clock.now())  # idempotent
    return iid


def test_postmortem_has_every_timeline_event_in_order_in_utc(hh: Harness) -> None:
    iid = _resolved_incident(hh)
    timeline = hh.incident(iid)["timeline"]
    r = hh.client.get(f"/api/v1/incidents/{iid}/postmortem", headers=hh.auth("acme", "viewer"))
    assert r.status_code == 200, r.text
    pm = r.json()
    assert pm["exists"] and pm["required"] and pm["status"] == "draft"
    assert pm["due_at"].startswith("2026-01-06T12:10:00")  # resolved + 5 days
    events = pm["timeline"]
    assert events[0]["kind"] == "alert_started" and events[0]["at"].startswith(
        "2026-01-01T11:59:00"
    )
    assert [e["message"] for e in events[1:]] == [e["message"] for e in timeline]
    assert all(e["at"].endswith("+00:00") for e in events)
    kinds = [e["kind"] for e in events]
    for kind in (
        "opened",
        "comment",
        "acknowledged",
        "commander_assigned",
        "escalation",
        "status_update",
        "resolved",
    ):
        assert kind in kinds
    assert pm["impact"]["duration_seconds"] == 600
    assert pm["impact"]["status_page_seconds"] == 360  # 12:04 update → 12:10 resolution
    assert [(m["step"], m["status"], m["summary"]) for m in pm["mitigations"]] == [
        ("2. Roll back", "ok", "rolled back to revision 41")
    ]
    md = hh.client.get(f"/api/v1/incidents/{iid}/postmortem.md", headers=hh.auth("acme", "viewer"))
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    text = md.text
    section = text[text.index("## Timeline (UTC)") : text.index("## Root cause")]
    at = [section.index(e["message"].replace("|", "\\|")) for e in timeline]
    assert at == sorted(at)
    assert "| 2026-01-01 12:02:00 | acknowledged | acme-responder |" in section
    assert "rolled back to revision 41" in text and "## Action items" in text


def test_editing_needs_a_commander_and_is_kept(hh: Harness) -> None:
    iid = _resolved_incident(hh)
    url = f"/api/v1/incidents/{iid}/postmortem"
    body = {"root_cause": "a bad deploy", "contributing_factors": ["no canary", "alert late"]}
    assert hh.client.put(url, json=body, headers=hh.auth("acme", "responder")).status_code == 403
    r = hh.client.put(
        url, json={**body, "status": "complete"}, headers=hh.auth("acme", "commander")
    )
    assert r.status_code == 200, r.text
    pm = hh.client.get(url, headers=hh.auth("acme", "viewer")).json()
    assert pm["root_cause"] == "a bad deploy" and pm["status"] == "complete"
    assert pm["contributing_factors"] == ["no canary", "alert late"]
    assert pm["updated_by"] == "acme-commander"
    md = hh.client.get(url + ".md", headers=hh.auth("acme", "viewer")).text
    assert "a bad deploy" in md and "- no canary" in md
    bad = hh.client.put(url, json={"status": "published"}, headers=hh.auth())
    assert bad.status_code == 422


def test_action_items_across_incidents_with_status_filter(hh: Harness) -> None:
    one = _resolved_incident(hh, "CheckoutErrors")
    two = _resolved_incident(hh, "CheckoutLatency")
    items = []
    for iid, title, due in (
        (one, "add a canary", "2026-01-20"),
        (two, "alert on p99", "2026-01-10"),
    ):
        r = hh.client.post(
            f"/api/v1/incidents/{iid}/postmortem/action-items",
            json={"title": title, "owner": "bob", "due_date": due},
            headers=hh.auth(),
        )
        assert r.status_code == 201, r.text
        items.append(r.json())
    viewer_post = hh.client.post(
        f"/api/v1/incidents/{one}/postmortem/action-items",
        json={"title": "x"},
        headers=hh.auth("acme", "viewer"),
    )
    assert viewer_post.status_code == 403
    listed = hh.client.get(
        "/api/v1/action-items", params={"status": "open"}, headers=hh.auth("acme", "viewer")
    )
    assert [a["title"] for a in listed.json()] == [
        "alert on p99",
        "add a canary",
    ]  # soonest due first
    done = hh.client.patch(
        f"/api/v1/action-items/{items[0]['id']}",
        json={"status": "done"},
        headers=hh.auth("acme", "responder"),
    )
    assert done.status_code == 200 and done.json()["status"] == "done"
    open_ = hh.client.get(
        "/api/v1/action-items?status=open", headers=hh.auth("acme", "viewer")
    ).json()
    closed = hh.client.get(
        "/api/v1/action-items?status=done", headers=hh.auth("acme", "viewer")
    ).json()
    assert [a["incident_id"] for a in open_] == [two]
    assert [a["id"] for a in closed] == [items[0]["id"]]
    pm = hh.client.get(
        f"/api/v1/incidents/{one}/postmortem", headers=hh.auth("acme", "viewer")
    ).json()
    assert [(a["title"], a["status"]) for a in pm["action_items"]] == [("add a canary", "done")]


def test_tenant_b_cannot_read_or_change_tenant_as_postmortem(hh: Harness) -> None:
    iid = _resolved_incident(hh)
    item = hh.client.post(
        f"/api/v1/incidents/{iid}/postmortem/action-items",
        json={"title": "secret plan"},
        headers=hh.auth(),
    ).json()
    g = hh.auth("globex", "admin")
    url = f"/api/v1/incidents/{iid}/postmortem"
    assert hh.client.get(url, headers=g).status_code == 404
    assert hh.client.get(url + ".md", headers=g).status_code == 404
    assert hh.client.put(url, json={"root_cause": "x"}, headers=g).status_code == 404
    assert hh.client.post(url + "/action-items", json={"title": "x"}, headers=g).status_code == 404
    assert (
        hh.client.patch(
            f"/api/v1/action-items/{item['id']}", json={"status": "done"}, headers=g
        ).status_code
        == 404
    )
    assert hh.client.get("/api/v1/action-items", headers=g).json() == []
    mine = hh.client.get("/api/v1/action-items", headers=hh.auth("acme", "viewer")).json()
    assert [(a["title"], a["status"]) for a in mine] == [("secret plan", "open")]


def test_reminders_go_to_the_commander_once_a_day_until_complete(hh: Harness) -> None:
    iid = _resolved_incident(hh)
    hh.clock.advance(days=4, hours=1)  # less than a day before the due time
    with _sessions(hh).begin() as s:
        due = collect_reminders(s, hh.clock.now())
    assert [(r.incident_id, r.to, r.overdue) for r in due] == [(iid, "alice", False)]
    with _sessions(hh).begin() as s:
        assert collect_reminders(s, hh.clock.now()) == []  # stamped: not twice
    hh.clock.advance(days=1)
    with _sessions(hh).begin() as s:
        again = collect_reminders(s, hh.clock.now())
    assert [r.overdue for r in again] == [True]
    hh.client.put(
        f"/api/v1/incidents/{iid}/postmortem", json={"status": "complete"}, headers=hh.auth()
    )
    hh.clock.advance(days=2)
    with _sessions(hh).begin() as s:
        assert collect_reminders(s, hh.clock.now()) == []
        assert s.scalars(select(Postmortem)).one().status == "complete"


def test_preview_before_resolution_and_cli_export(
    hh: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    iid = hh.post_am(am_body(am_alert("CheckoutErrors", job="checkout", severity="critical")))[
        "incidents"
    ][0]
    pm = hh.client.get(
        f"/api/v1/incidents/{iid}/postmortem", headers=hh.auth("acme", "viewer")
    ).json()
    assert pm["exists"] is False and pm["impact"]["resolved_at"] is None
    assert (
        hh.client.get("/api/v1/incidents/inc_nope/postmortem", headers=hh.auth()).status_code == 404
    )
    with _sessions(hh)() as s:
        assert s.get(Postmortem, iid) is None  # a GET stores nothing
