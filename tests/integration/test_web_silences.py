"""The silences and maintenance page over HTTP (TestClient, SQLite and PostgreSQL): a silence made
on the page mutes a later matching alert, the preview, the API's guardrails and roles, CSRF,
tenant scoping, and one-off maintenance windows."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.support.app import Harness, am_alert, am_body
from tests.support.web import add_web_users, csrf_of, sign_in


@pytest.fixture
def users(h: Harness) -> Harness:
    """alice (acme commander), bob (acme responder), vera (acme viewer), ada (acme admin),
    carmen (globex commander)."""
    return add_web_users(h)


def _silences(h: Harness, tenant: str = "acme") -> list[dict[str, Any]]:
    r = h.client.get("/api/v1/silences", headers=h.auth(tenant, "viewer"))
    assert r.status_code == 200, r.text
    out: list[dict[str, Any]] = r.json()
    return out


def _create(h: Harness, token: str, **fields: str) -> httpx.Response:
    data = {"csrf": token, "duration": "2h", "comment": "", "intent": "create", **fields}
    r: httpx.Response = h.client.post("/ui/silences", data=data, follow_redirects=False)
    return r


def test_a_silence_made_on_the_page_mutes_a_later_matching_alert(users: Harness) -> None:
    c = users.client
    sign_in(c, "bob")
    html = c.get("/ui/silences").text
    assert 'action="/ui/silences"' in html and "New silence" in html
    assert "Force" not in html  # only admins see the override
    r = _create(users, csrf_of(html), matchers='job="checkout"\nenv=~"prod|stage"',
                comment="deploying checkout")  # fmt: skip
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/ui/silences?created=sil_")
    page = c.get(r.headers["location"]).text
    assert "created." in page and "deploying checkout" in page
    assert 'Active silences <span class="count">(1)' in page
    [sil] = _silences(users)
    assert sil["matchers"] == ['job="checkout"', 'env=~"prod|stage"']
    assert sil["createdBy"] == "bob" and sil["status"] == {"state": "active"}
    assert sil["endsAt"].startswith("2026-01-01T14:00:00")

    users.clock.advance(minutes=10)
    muted = users.post_am(am_body(am_alert("CheckoutApiDown", job="checkout", env="prod")))
    assert muted["incidents"] == [] and users.incidents() == []
    html = c.get("/ui/silences").text
    assert "Recently silenced alerts" in html and "CheckoutApiDown" in html
    # another environment is not silenced
    loud = users.post_am(am_body(am_alert("CheckoutApiDown", job="checkout", env="dev")))
    assert len(loud["incidents"]) == 1


def test_preview_lists_matching_firing_alerts_only(users: Harness) -> None:
    users.post_am(am_body(am_alert("CheckoutApiDown", job="checkout", env="prod")))
    users.post_am(am_body(am_alert("IndexerLag", queue="q1")))
    c = users.client
    sign_in(c, "bob")
    frag = c.get("/ui/silences/preview", params={"matchers": 'job="checkout"'})
    assert frag.status_code == 200
    assert "CheckoutApiDown" in frag.text and "IndexerLag" not in frag.text
    assert "<html" not in frag.text and "1</strong> firing alert would" in frag.text
    none = c.get("/ui/silences/preview", params={"matchers": 'job="nope"'}).text
    assert "No firing alert matches" in none and "CheckoutApiDown" not in none
    bad = c.get("/ui/silences/preview", params={"matchers": "job"}).text
    assert 'role="alert"' in bad and "Preview:" in bad

    # the whole page with ?matchers= (no JavaScript), the form kept filled in
    full = c.get("/ui/silences", params={"matchers": 'alertname="IndexerLag"'}).text
    assert "IndexerLag" in full and "CheckoutApiDown" not in full
    assert "alertname=&#34;IndexerLag&#34;</textarea>" in full
    assert 'hx-get="/ui/silences/preview"' in full
    # the form's own "Preview matches" button: a post that creates nothing
    r = c.post("/ui/silences", data={"csrf": csrf_of(full), "matchers": 'job="checkout"',
                                     "duration": "2h", "intent": "preview"})  # fmt: skip
    assert r.status_code == 200 and "CheckoutApiDown" in r.text and "IndexerLag" not in r.text
    assert _silences(users) == []


@pytest.mark.parametrize(
    ("matchers", "duration", "message"),
    [
        ('env=~"prod|stage"', "2h", "at least one equality matcher"),
        ('job="checkout"', "8d", "may last at most 1w"),
        ('job="checkout"', "soon", "invalid duration"),
        ("job", "2h", "matcher"),
        ("", "2h", "at least one matcher"),
    ],
)
def test_guardrails_show_a_clear_error_and_keep_the_form(
    users: Harness, matchers: str, duration: str, message: str
) -> None:
    c = users.client
    sign_in(c, "bob")
    token = csrf_of(c.get("/ui/silences").text)
    r = _create(users, token, matchers=matchers, duration=duration, comment="kept text")
    assert r.status_code == 422, r.text
    text = r.text
    assert re.search(r'class="error" role="alert"[^>]*>[^<]*' + re.escape(message), text), text
    assert 'value="kept text"' in text
    assert _silences(users) == []


def test_force_is_admin_only(users: Harness) -> None:
    c = users.client
    sign_in(c, "bob")
    token = csrf_of(c.get("/ui/silences").text)
    r = _create(users, token, matchers='env=~"prod"', force="on")
    assert r.status_code == 403 and "needs the admin role" in r.text
    assert _silences(users) == []
    c.cookies.clear()
    sign_in(c, "ada")
    html = c.get("/ui/silences").text
    assert "Force: skip the guardrails" in html
    r = _create(users, csrf_of(html), matchers='env=~"prod"', duration="10d", force="on")
    assert r.status_code == 303
    [sil] = _silences(users)
    assert sil["forced"] is True


def test_a_viewer_sees_no_forms_and_cannot_post(users: Harness) -> None:
    c = users.client
    sign_in(c, "alice")
    token = csrf_of(c.get("/ui/silences").text)
    assert _create(users, token, matchers='job="checkout"').status_code == 303
    c.cookies.clear()
    sign_in(c, "vera")
    html = c.get("/ui/silences").text
    assert "Active silences" in html and "job=&#34;checkout&#34;" in html
    assert 'action="/ui/silences' not in html and "<textarea" not in html
    assert ">Expire<" not in html and "New one-off maintenance window" not in html
    r = _create(users, csrf_of(html), matchers='job="search"')
    assert r.status_code == 403 and "responder role" in r.text
    assert len(_silences(users)) == 1


def test_a_responder_sees_no_maintenance_form(users: Harness) -> None:
    c = users.client
    sign_in(c, "bob")
    html = c.get("/ui/silences").text
    assert "New silence" in html and 'action="/ui/silences/maintenance"' not in html
    r = c.post("/ui/silences/maintenance",
               data={"csrf": csrf_of(html), "name": "db", "service.search-indexer": "on"})  # fmt: skip
    assert r.status_code == 403 and "commander role" in r.text


def test_forged_posts_are_refused_and_change_nothing(users: Harness) -> None:
    c = users.client
    sign_in(c, "alice")
    token = csrf_of(c.get("/ui/silences").text)
    for data in ({"matchers": 'job="checkout"', "duration": "1h"},
                 {"matchers": 'job="checkout"', "duration": "1h", "csrf": "forged"}):  # fmt: skip
        assert c.post("/ui/silences", data=data).status_code == 403
    assert _silences(users) == []
    assert _create(users, token, matchers='job="checkout"').status_code == 303
    [sil] = _silences(users)
    r = c.post(f"/ui/silences/{sil['id']}/expire", data={})
    assert r.status_code == 403 and "Nothing was changed" in r.text
    r = c.post("/ui/silences/maintenance", data={"name": "x", "service.search-indexer": "on"})
    assert r.status_code == 403
    assert _silences(users)[0]["status"] == {"state": "active"}


def test_expire_and_another_tenants_silence_is_not_found(users: Harness) -> None:
    r = users.client.post(
        "/api/v1/silences",
        json={"matchers": ['service="ledger"'], "endsAt": "2026-01-01T14:00:00Z"},
        headers=users.auth("globex", "responder"),
    )
    assert r.status_code == 201, r.text
    theirs = r.json()["id"]
    c = users.client
    sign_in(c, "bob")
    html = c.get("/ui/silences").text
    assert theirs not in html
    token = csrf_of(html)
    r = c.post(f"/ui/silences/{theirs}/expire", data={"csrf": token})
    assert r.status_code == 404
    assert _silences(users, "globex")[0]["status"] == {"state": "active"}

    assert _create(users, token, matchers='job="checkout"').status_code == 303
    pending = _create(users, token, matchers='job="search"', starts="2026-01-02T09:00")
    assert pending.status_code == 303
    html = c.get("/ui/silences").text
    assert 'Pending silences <span class="count">(1)' in html
    mine = {str(s["matchers"]): s["id"] for s in _silences(users)}
    checkout = mine[str(['job="checkout"'])]
    r = c.post(f"/ui/silences/{checkout}/expire", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    states = {str(s["matchers"]): s["status"] for s in _silences(users)}
    assert states[str(['job="checkout"'])] == {"state": "expired"}
    assert states[str(['job="search"'])] == {"state": "pending"}
    html = c.get("/ui/silences").text
    assert 'Expired silences <span class="count">(1)' in html and "expired by bob" in html
    again = c.post(f"/ui/silences/{checkout}/expire", data={"csrf": token})
    assert again.status_code == 409 and "already expired" in again.text


def test_maintenance_window_create_silences_and_delete(users: Harness) -> None:
    c = users.client
    sign_in(c, "alice")
    html = c.get("/ui/silences").text
    assert "New one-off maintenance window" in html
    token = csrf_of(html)
    bad = c.post("/ui/silences/maintenance", data={"csrf": token, "name": "db upgrade",
                                                  "duration": "2h"})  # fmt: skip
    assert bad.status_code == 422 and "needs services and/or components" in bad.text
    assert 'value="db upgrade"' in bad.text
    r = c.post(
        "/ui/silences/maintenance",
        data={"csrf": token, "name": "db upgrade", "description": "<b>postgres 16</b>",
              "service.search-indexer": "on", "duration": "2h", "notify_before": "30m"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303, r.text
    html = c.get("/ui/silences").text
    assert "db upgrade" in html and "in maintenance" in html
    assert "&lt;b&gt;postgres 16&lt;/b&gt;" in html and "<b>postgres" not in html
    muted = users.post_am(am_body(am_alert("IndexerLag", queue="q1")))
    assert muted["incidents"] == []
    windows = users.client.get("/api/v1/maintenance", headers=users.auth()).json()
    [w] = [x for x in windows if x["source"] == "api"]
    assert w["services"] == ["search-indexer"] and w["end"].startswith("2026-01-01T14:00:00")

    c.cookies.clear()
    sign_in(c, "carmen")
    other = c.post(f"/ui/silences/maintenance/{w['id']}/delete",
                   data={"csrf": csrf_of(c.get("/ui/silences").text)})  # fmt: skip
    assert other.status_code == 404
    c.cookies.clear()
    sign_in(c, "alice")
    token = csrf_of(c.get("/ui/silences").text)  # a new session, a new token
    r = c.post(f"/ui/silences/maintenance/{w['id']}/delete", data={"csrf": token},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert [x for x in users.client.get("/api/v1/maintenance", headers=users.auth()).json()
            if x["source"] == "api"] == []  # fmt: skip


def test_hostile_matchers_and_comments_render_inert(users: Harness) -> None:
    c = users.client
    sign_in(c, "bob")
    token = csrf_of(c.get("/ui/silences").text)
    evil = "<script>alert(1)</script>"
    r = _create(users, token, matchers=f'job="{evil}"', comment='"><img src=x onerror=alert(1)>')
    assert r.status_code == 303
    html = c.get("/ui/silences").text
    assert evil not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    frag = c.get("/ui/silences/preview", params={"matchers": f'job="{evil}"'}).text
    assert evil not in frag
