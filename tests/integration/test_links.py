"""Signed acknowledge/resolve links over HTTP: a valid link acts once; a forged, reused or expired
link, a GET (mail scanners prefetch), or a link aimed at another tenant's incident does nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from opsbook.api.state import AppState
from opsbook.flows.outbox import queue_page
from opsbook.notify.links import LinkAction, sign
from opsbook.storage import repos
from opsbook.storage.tables import UsedLink
from tests.support.app import Harness, am_alert, am_body, running_app

SECRET_KEY = "test-link-secret-0123456789abcdef"
CONFIG = """
tenants: [{name: acme}, {name: globex}]
services:
  - {name: checkout-api, tenant: acme}
  - {name: ledger, tenant: globex}
routes:
  - {match: {job: checkout}, service: checkout-api}
  - {match: {job: ledger}, service: ledger}
users:
  - {name: alice, tenant: acme, role: commander, contacts: ["json://127.0.0.1:9/hook"]}
  - {name: bob, tenant: acme, role: responder}
  - {name: carmen, tenant: globex, role: commander}
notify: {base_url: "https://ops.example.com", link_ttl: 1h}
"""
PATH = "/api/v1/links/{token}"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


def with_links(app: Any) -> FastAPI:
    """The app (create_app includes the links router)."""
    fa: FastAPI = app
    return fa


@pytest.fixture
def h(db_url: str) -> Iterator[Harness]:
    with running_app(db_url, CONFIG, run_worker=False, secret_key=SECRET_KEY) as harness:
        with_links(harness.client.app)
        yield harness


def _incident(h: Harness, tenant: str = "acme") -> str:
    job = "checkout" if tenant == "acme" else "ledger"
    body = am_body(am_alert(f"{job.title()}Down", job=job, severity="critical"))
    iid: str = h.post_am(body, tenant=tenant)["incidents"][0]
    return iid


def _token(h: Harness, action: LinkAction, iid: str, user: str = "alice", ttl: float = 3600) -> str:
    return sign(action, iid, user, h.clock.now() + timedelta(seconds=ttl), SECRET_KEY)


def _state(h: Harness, iid: str, tenant: str = "acme") -> tuple[str, int, int]:
    """(status, timeline length, used links) — what a refused link must leave as it was."""
    st: AppState = h.client.app.state.opsbook  # type: ignore[attr-defined]
    with st.sessions() as s:
        inc = repos.get_incident(s, tenant, iid)
        used = s.scalar(select(func.count()).select_from(UsedLink)) or 0
        return inc.status, len(repos.timeline(s, tenant, iid)), used


def test_a_link_from_a_real_page_acknowledges_once(h: Harness) -> None:
    iid = _incident(h)
    st: AppState = h.client.app.state.opsbook  # type: ignore[attr-defined]
    with st.sessions.begin() as s:
        inc = repos.get_incident(s, "acme", iid)
        [d] = queue_page(
            s, st.config, st.settings, incident=inc, user="alice", reason="page",
            update_seq=1, now=h.clock.now(), level=1,
        )  # fmt: skip
        body = d.body
    m = re.search(r"https://ops\.example\.com(/api/v1/links/[\w.-]+)", body)
    assert m, body
    path = m.group(1)
    before = _state(h, iid)

    page = h.client.get(path, headers=BROWSER)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f"Acknowledge incident {iid} (P0, checkout-api)" in page.text
    assert "as <b>alice</b>?" in page.text and '<form method="post">' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert _state(h, iid) == before, "a GET changed something"

    done = h.client.post(path, headers=BROWSER)
    assert done.status_code == 200, done.text
    assert "acknowledged by alice via link" in done.text
    detail = h.incident(iid)
    assert detail["status"] == "acknowledged"
    assert detail["timeline"][-1]["message"].startswith("acknowledged by alice via link")
    after = _state(h, iid)

    again = h.client.post(path, headers=BROWSER)
    assert again.status_code == 410 and "already used" in again.text
    assert h.client.get(path).status_code == 410
    assert _state(h, iid) == after


def test_get_never_changes_anything(h: Harness) -> None:
    iid = _incident(h)
    token = _token(h, "resolve", iid)
    before = _state(h, iid)
    for _ in range(3):
        r = h.client.get(f"/api/v1/links/{token}", headers=BROWSER)
        assert r.status_code == 200 and "Resolve incident" in r.text
    r = h.client.get(f"/api/v1/links/{token}")  # curl, scripts: */* → JSON
    assert r.json()["action"] == "resolve" and r.json()["user"] == "alice"
    assert _state(h, iid) == before
    r = h.client.post(f"/api/v1/links/{token}", headers=JSON)
    assert r.status_code == 200
    assert r.json() == {
        "action": "resolve",
        "incident_id": iid,
        "status": "resolved",
        "actor": "alice via link",
    }


def _flip(token: str, index: int) -> str:
    c = token[index]
    return token[:index] + ("A" if c != "A" else "B") + token[index + 1 :]


@pytest.mark.parametrize("where", ["payload", "signature"])
def test_a_forged_link_does_nothing(h: Harness, where: str) -> None:
    iid = _incident(h)
    token = _token(h, "acknowledge", iid)
    forged = _flip(token, 10 if where == "payload" else len(token) - 5)
    before = _state(h, iid)
    for method in ("GET", "POST"):
        r = h.client.request(method, f"/api/v1/links/{forged}", headers=BROWSER)
        assert r.status_code == 400, r.text
        assert "not valid" in r.text and "Nothing was changed" in r.text
    r = h.client.post(f"/api/v1/links/{forged}")
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["title"] == "Invalid link"
    assert _state(h, iid) == before
    # a link signed with another key is a forgery too
    other = sign("acknowledge", iid, "alice", h.clock.now() + timedelta(hours=1), "x" * 32)
    assert h.client.post(f"/api/v1/links/{other}").status_code == 400
    assert _state(h, iid) == before


def test_an_expired_link_does_nothing(h: Harness) -> None:
    iid = _incident(h)
    token = _token(h, "acknowledge", iid, ttl=600)
    h.clock.advance(minutes=10)
    before = _state(h, iid)
    for method in ("GET", "POST"):
        r = h.client.request(method, f"/api/v1/links/{token}", headers=BROWSER)
        assert r.status_code == 410 and "expired" in r.text
    assert _state(h, iid) == before


def test_links_of_one_tenant_cannot_touch_another(h: Harness) -> None:
    a_inc, b_inc = _incident(h, "acme"), _incident(h, "globex")
    before_b = _state(h, b_inc, "globex")
    # even a correctly signed link cannot let an acme user act on a globex incident
    actions: tuple[LinkAction, ...] = ("acknowledge", "resolve")
    for action in actions:
        token = _token(h, action, b_inc, user="alice")
        for method in ("GET", "POST"):
            r = h.client.request(method, f"/api/v1/links/{token}")
            assert r.status_code == 403, r.text
    assert _state(h, b_inc, "globex") == before_b
    # and acme's own link acts on acme's incident only
    token = _token(h, "acknowledge", a_inc)
    assert h.client.post(f"/api/v1/links/{token}").status_code == 200
    assert h.incident(a_inc)["status"] == "acknowledged"
    assert _state(h, b_inc, "globex")[:2] == before_b[:2]
    assert h.incident(b_inc, tenant="globex")["status"] == "triggered"


def test_a_link_does_no_more_than_its_user_may(h: Harness) -> None:
    iid = _incident(h)
    before = _state(h, iid)
    resolve_as_responder = _token(h, "resolve", iid, user="bob")
    r = h.client.post(f"/api/v1/links/{resolve_as_responder}", headers=BROWSER)
    assert r.status_code == 403 and "commander" in r.text
    unknown_user = _token(h, "acknowledge", iid, user="mallory")
    assert h.client.post(f"/api/v1/links/{unknown_user}").status_code == 403
    assert _state(h, iid) == before
    ack_as_responder = _token(h, "acknowledge", iid, user="bob")
    assert h.client.post(f"/api/v1/links/{ack_as_responder}").status_code == 200


def test_a_link_for_an_action_already_taken_does_nothing_and_is_not_used_up(h: Harness) -> None:
    iid = _incident(h)
    first, second = _token(h, "acknowledge", iid), _token(h, "acknowledge", iid, user="bob")
    assert h.client.post(f"/api/v1/links/{first}").status_code == 200
    before = _state(h, iid)
    r = h.client.post(f"/api/v1/links/{second}", headers=BROWSER)
    assert r.status_code == 409 and "already acknowledged (by alice via link)" in r.text
    assert _state(h, iid) == before


def test_links_are_off_without_a_secret_key(tmp_path: Any) -> None:
    with running_app(f"sqlite:///{tmp_path}/o.db", CONFIG, run_worker=False) as h:
        with_links(h.client.app)
        iid = _incident(h)
        token = _token(h, "acknowledge", iid)
        r = h.client.post(f"/api/v1/links/{token}")
        assert r.status_code == 404 and "OPSBOOK_SECRET_KEY" in r.json()["detail"]
        assert h.incident(iid)["status"] == "triggered"


def test_both_routes_are_in_openapi_with_a_token_parameter(h: Harness) -> None:
    spec = h.client.app.openapi()  # type: ignore[attr-defined]
    ops = spec["paths"][PATH]
    assert set(ops) == {"get", "post"}
    for op in ops.values():
        [param] = op["parameters"]
        assert (param["name"], param["in"], param["required"]) == ("token", "path", True)
        assert {"400", "410"} <= set(op["responses"])
