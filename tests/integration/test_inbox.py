"""The inbox:// contact and "nobody was paged", with the app's real job kinds and an injected clock.

A P0 on a service with a policy pages alice into her opsbook inbox (API and web page, unread
count, mark read; a repeated delivery job stores nothing twice); a P0 on a service with no policy
says on its timeline, when its acknowledgement window passes, that nobody was paged and why; a
person with no contact for a P0 is named on the timeline as not paged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opsbook.flows.escalation import note_unpaged_breaches
from opsbook.flows.tokens import create_token
from opsbook.jobs.worker import Worker
from opsbook.storage import jobs
from opsbook.storage.db import make_engine, make_sessionmaker
from opsbook.storage.tables import Delivery
from tests.support.app import Harness, am_alert, am_body, running_app
from tests.support.web import add_web_users, csrf_of, sign_in

CONFIG = """
tenants: [{name: acme}, {name: globex}]
users:
  - {name: alice, tenant: acme, role: commander, contacts: ["inbox://"]}
  - {name: bob, tenant: acme, role: responder, contacts: ["inbox://"]}
  - {name: nomail, tenant: acme, role: responder}
  - {name: carmen, tenant: globex, role: commander, contacts: ["inbox://"]}
schedules:
  - {name: primary, tenant: acme, rotation: {every: 1w, handoff: "Mon 09:00", participants: [alice]}}
escalation_policies:
  - {name: platform, tenant: acme, steps: [{notify: {schedule: primary}}]}
  - {name: ghosts, tenant: acme, steps: [{notify: {users: [nomail]}}]}
services:
  - {name: api, tenant: acme, escalation_policy: platform}
  - {name: lonely, tenant: acme}
  - {name: haunted, tenant: acme, escalation_policy: ghosts}
routes:
  - {match: {job: api}, service: api}
  - {match: {job: lonely}, service: lonely}
  - {match: {job: haunted}, service: haunted}
"""


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, Any]]:
    from opsbook.jobs.kinds import all_job_kinds

    with running_app(f"sqlite:///{tmp_path}/o.db", CONFIG, run_worker=False) as h:
        st = h.client.app.state.opsbook  # type: ignore[attr-defined]
        kinds = all_job_kinds(
            st.sessions, lambda: st.config, lambda: st.catalog, st.settings, st.clock
        )
        yield {"h": h, "st": st, "worker": Worker(st.sessions, st.clock, kinds)}


def _drain(w: Worker) -> None:
    for _ in range(200):  # bounded: a loop that never settles is a failure, not a hang
        if not w.run_once():
            return
    raise AssertionError("jobs kept coming")


def _token(h: Harness, tenant: str, name: str) -> dict[str, str]:
    engine = make_engine(h.url)
    with make_sessionmaker(engine).begin() as s:
        _, secret = create_token(
            s, h.config, h.clock.now(), tenant=tenant, role="viewer", name=name
        )
    engine.dispose()
    return {"Authorization": f"Bearer {secret}"}


def _open(h: Harness, job: str) -> str:
    body = h.post_am(am_body(am_alert(f"{job.title()}Down", job=job, severity="critical")))
    iid: str = body["incidents"][0]
    return iid


def _escalation_notes(h: Harness, iid: str) -> list[str]:
    return [e["message"] for e in h.incident(iid)["timeline"] if e["kind"] == "escalation"]


def test_a_page_lands_in_the_inbox_once_and_can_be_read(env: dict[str, Any]) -> None:
    h, w, st = env["h"], env["worker"], env["st"]
    iid = _open(h, "api")
    _drain(w)
    alice = _token(h, "acme", "alice")
    got = h.client.get("/api/v1/inbox", params={"unread": 1}, headers=alice).json()
    assert got["unread"] == 1 and len(got["items"]) == 1
    item = got["items"][0]
    assert item["incident_id"] == iid and item["severity"] == "P0" and not item["read"]
    assert "ApiDown" in item["title"] + item["body"]
    link = f"/incidents/{iid}"  # the message's page link (notify.base_url + this) opens the UI
    assert link in item["body"]
    opened = h.client.get(link, follow_redirects=False)
    assert opened.status_code == 307 and opened.headers["location"] == f"/ui/incidents/{iid}"
    timeline = " | ".join(e["message"] for e in h.incident(iid)["timeline"])
    assert "via inbox" in timeline and "delivered" in timeline

    with st.sessions.begin() as s:  # the outbox delivers at least once: a second attempt's job
        d = s.scalars(select(Delivery).where(Delivery.incident_id == iid)).one()
        jobs.enqueue(s, "acme", "deliver", {"delivery_id": d.id, "attempt": 0}, h.clock.now())
        d.status, d.attempts = "pending", 0
    _drain(w)
    assert h.client.get("/api/v1/inbox", headers=alice).json()["total"] == 1

    # nobody else sees it: bob (same tenant) and carmen (other tenant) have empty inboxes
    assert h.client.get("/api/v1/inbox", headers=_token(h, "acme", "bob")).json()["total"] == 0
    assert h.client.get("/api/v1/inbox", headers=_token(h, "globex", "carmen")).json()["total"] == 0

    add_web_users(h)
    c = h.client
    assert sign_in(c, "alice").status_code == 303
    badge = c.get("/ui/inbox/count")
    assert 'data-unread="1"' in badge.text and f'data-href="/ui/incidents/{iid}"' in badge.text
    page = c.get("/ui/inbox")
    assert page.status_code == 200 and "1 unread of 1" in page.text
    assert f'href="/ui/incidents/{iid}"' in page.text
    assert '<a href="/ui/inbox">Inbox' in c.get("/ui/").text  # the navigation links it
    refused = c.post("/ui/inbox/read", data={"csrf": "forged"}, follow_redirects=False)
    assert refused.status_code == 403
    assert h.client.get("/api/v1/inbox", params={"unread": 1}, headers=alice).json()["unread"] == 1
    done = c.post("/ui/inbox/read", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert done.status_code == 303
    assert 'data-unread="0"' in c.get("/ui/inbox/count").text
    assert "0 unread of 1" in c.get("/ui/inbox").text


def test_a_p0_with_no_policy_says_nobody_was_paged_when_its_window_passes(
    env: dict[str, Any],
) -> None:
    h, w, st = env["h"], env["worker"], env["st"]
    iid = _open(h, "lonely")
    quiet = h.post_am(am_body(am_alert("LonelySlow", job="lonely", severity="warning")))
    acked = quiet["incidents"][0]
    h.client.post(f"/api/v1/incidents/{acked}/acknowledge", headers=h.auth("acme", "responder"))
    paged = _open(h, "api")  # has a policy: paged, so never "nobody was paged"
    _drain(w)

    def sweep() -> int:  # what the server's sweep runs every 15 s
        with st.sessions.begin() as s:
            return int(note_unpaged_breaches(s, st.config, h.clock.now()))

    h.clock.advance(minutes=4, seconds=59)
    assert sweep() == 0
    assert not [n for n in _escalation_notes(h, iid) if "nobody was paged" in n]
    h.clock.advance(seconds=2)
    assert sweep() == 1
    assert sweep() == 0  # once per incident
    notes = [n for n in _escalation_notes(h, iid) if "nobody was paged" in n]
    assert notes == [
        "the P0 acknowledgement window (5m) passed and nobody was paged: service lonely has no "
        "escalation_policy in the config (add one, with a schedule, to page someone)"
    ]
    h.clock.advance(hours=2)  # the P2's 1h window passed too, but it was acknowledged in time
    assert sweep() == 0
    for other in (acked, paged):
        assert not [n for n in _escalation_notes(h, other) if "nobody was paged" in n]


def test_a_person_with_no_contact_is_named_as_not_paged(env: dict[str, Any]) -> None:
    h, w = env["h"], env["worker"]
    iid = _open(h, "haunted")
    _drain(w)
    notes = _escalation_notes(h, iid)
    assert any("paging nomail" in n for n in notes)
    assert any("nobody was paged for nomail: no contact takes a P0 page now" in n for n in notes)
