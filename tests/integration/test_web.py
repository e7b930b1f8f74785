"""The web UI over HTTP (TestClient, SQLite and PostgreSQL): sign-in, sessions, CSRF, roles,
tenant scoping, and hostile alert text rendered inert."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.support.app import Harness, am_alert, am_body
from tests.support.web import PASSWORD, add_web_users, csrf_of, open_incident, sign_in


@pytest.fixture
def users(h: Harness) -> Harness:
    """Web users: alice (acme commander), vera (acme viewer), bob (acme responder), carmen (globex)."""
    return add_web_users(h)


def test_pages_need_a_session_and_sign_in_sets_a_safe_cookie(users: Harness) -> None:
    c = users.client
    for path in ("/ui/", "/ui/incidents/inc_x", "/ui/incidents/rows"):
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/ui/login", path
    assert c.get("/ui/incidents/rows", headers={"HX-Request": "true"}).headers["HX-Redirect"] == (
        "/ui/login"
    )

    bad = sign_in(c, "alice", "wrong password")
    assert bad.status_code == 401 and "Wrong name or password" in bad.text
    r = sign_in(c, "alice")
    assert r.status_code == 303 and r.headers["location"] == "/ui/"
    cookie = next(
        v for k, v in r.headers.multi_items() if k == "set-cookie" and "opsbook_session" in v
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie  # plain http here; https requests get Secure
    page = c.get("/ui/")
    assert page.status_code == 200 and "alice" in page.text and "Incidents" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_sign_out_and_expiry_end_the_session(users: Harness) -> None:
    c = users.client
    sign_in(c, "alice")
    token = csrf_of(c.get("/ui/").text)
    r = c.post("/ui/logout", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/login"
    assert c.get("/ui/", follow_redirects=False).status_code == 303

    sign_in(c, "alice")
    assert c.get("/ui/", follow_redirects=False).status_code == 200
    users.clock.advance(hours=7, minutes=59)
    assert c.get("/ui/", follow_redirects=False).status_code == 200
    users.clock.advance(minutes=2)
    assert c.get("/ui/", follow_redirects=False).headers["location"] == "/ui/login"


def test_forged_posts_are_refused_and_change_nothing(users: Harness) -> None:
    c = users.client
    iid = open_incident(users)
    forged_login = c.post("/ui/login", data={"login": "alice", "password": PASSWORD})
    assert forged_login.status_code == 403
    sign_in(c, "alice")
    for data in ({}, {"csrf": "not-the-token"}):
        r = c.post(f"/ui/incidents/{iid}/acknowledge", data=data, follow_redirects=False)
        assert r.status_code == 403 and "Nothing was changed" in r.text
    assert users.incident(iid)["status"] == "triggered"

    token = csrf_of(c.get(f"/ui/incidents/{iid}").text)
    r = c.post(f"/ui/incidents/{iid}/acknowledge", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    assert users.incident(iid)["status"] == "acknowledged"


def test_a_viewer_sees_no_action_buttons_and_cannot_post_one(users: Harness) -> None:
    iid = open_incident(users)
    c = users.client
    sign_in(c, "vera")
    html = c.get(f"/ui/incidents/{iid}").text
    assert "CheckoutApiDown" in html
    assert 'action="/ui/incidents/' not in html and "Acknowledge" not in html
    r = c.post(f"/ui/incidents/{iid}/acknowledge", data={"csrf": csrf_of(html)})
    assert r.status_code == 403 and "responder role" in r.text
    assert users.incident(iid)["status"] == "triggered"


def test_a_responder_acknowledges_but_cannot_resolve(users: Harness) -> None:
    iid = open_incident(users)
    c = users.client
    sign_in(c, "bob")
    html = c.get(f"/ui/incidents/{iid}").text
    assert "Acknowledge" in html and ">Resolve<" not in html
    token = csrf_of(html)
    assert c.post(f"/ui/incidents/{iid}/acknowledge", data={"csrf": token}).status_code == 200
    r = c.post(f"/ui/incidents/{iid}/resolve", data={"csrf": token})
    assert r.status_code == 403
    assert users.incident(iid)["status"] == "acknowledged"


def test_another_tenants_incident_is_not_found(users: Harness) -> None:
    theirs = users.post_am(am_body(am_alert("LedgerDown", service="ledger")), "globex")
    iid = theirs["incidents"][0]
    c = users.client
    sign_in(c, "alice")
    assert c.get(f"/ui/incidents/{iid}").status_code == 404
    token = csrf_of(c.get("/ui/").text)
    r = c.post(f"/ui/incidents/{iid}/acknowledge", data={"csrf": token})
    assert r.status_code == 404
    assert users.incident(iid, "globex")["status"] == "triggered"
    assert iid not in c.get("/ui/").text


class _Audit(HTMLParser):
    """Collects what would run in a browser: script elements, on* attributes, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[str] = []
        self.js_urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"{tag} {name}")
            if name in ("href", "src", "action", "formaction") and (
                value or ""
            ).strip().lower().startswith("javascript:"):
                self.js_urls.append(value or "")


XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    '<a href="javascript:alert(1)">x</a>',
    "</title><svg onload=alert(1)>",
    "{{ 7*7 }}",
]


def test_hostile_alert_text_renders_inert(users: Harness) -> None:
    alert = am_alert("CheckoutApiDown", job="checkout", evil=XSS[0], pod=XSS[1])
    alert["annotations"] = {"summary": XSS[3] + XSS[4], "description": XSS[5]}
    alert["generatorURL"] = XSS[2]
    iid = users.post_am(am_body(alert))["incidents"][0]
    c = users.client
    sign_in(c, "alice")
    for path in ("/ui/", f"/ui/incidents/{iid}", f"/ui/incidents/{iid}/timeline"):
        html = c.get(path).text
        audit = _Audit()
        audit.feed(html)
        assert all(s.get("src", "").startswith("/ui/static/") for s in audit.scripts), audit.scripts  # type: ignore[union-attr]
        assert audit.handlers == [] and audit.js_urls == [], (audit.handlers, audit.js_urls)
    html = c.get(f"/ui/incidents/{iid}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{ 7*7 }}" in html and ">49<" not in html
