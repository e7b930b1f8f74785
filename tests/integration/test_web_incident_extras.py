"""The incident page's extras over HTTP (SQLite and PostgreSQL): the status-update composer
(prefill by HTMX and by plain GET, post, the public page), the post-mortem editor and its
Markdown export, roles and CSRF on every form, and step-result charts drawn as inline SVG."""

from __future__ import annotations

import html as htmllib
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest

from opsbook.storage.db import make_engine, make_sessionmaker
from opsbook.storage.tables import StepRun
from opsbook.web.views import chart_view, result_blocks
from tests.support.app import Harness, running_app
from tests.support.web import PASSWORD, add_web_users, csrf_of, open_incident, sign_in

SVG_NS = "{http://www.w3.org/2000/svg}"
_SVG = re.compile(r"<svg\b.*?</svg>", re.S)


@pytest.fixture
def h(db_url: str) -> Iterator[Harness]:
    """The app without its job worker: diagnostics running in the background would add to the
    timeline between two reads of the same post-mortem export (nothing here needs them run)."""
    with running_app(db_url, run_worker=False) as harness:
        yield harness


@pytest.fixture
def users(h: Harness) -> Harness:
    """Web users: alice (acme commander), bob (acme responder), vera (acme viewer), carmen (globex)."""
    return add_web_users(h)


def _resolved(h: Harness) -> str:
    iid = open_incident(h)
    r = h.client.post(
        f"/api/v1/incidents/{iid}/resolve", json={"note": "rolled back"}, headers=h.auth()
    )
    assert r.status_code == 200, r.text
    return iid


def _as(h: Harness, name: str) -> None:
    """Sign in as ``name`` in a fresh cookie jar (a signed-in browser skips the sign-in form)."""
    h.client.cookies.clear()
    assert sign_in(h.client, name).status_code == 303


def _field(html: str, name: str) -> str:
    """The text of a textarea or the value of an input named ``name`` (unescaped)."""
    m = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    if m is None:
        m = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html)
    assert m, f"no field {name}"
    return htmllib.unescape(m.group(1))


# -- status-update composer ----------------------------------------------------------------------


def test_composer_prefills_from_the_template_by_htmx_and_by_plain_get(users: Harness) -> None:
    iid = open_incident(users)
    c = users.client
    sign_in(c, "alice")
    page = c.get(f"/ui/incidents/{iid}").text
    assert 'id="status-composer"' in page and "Post update" in page
    assert '<option value="investigating" selected>' in page  # triggered → investigating
    assert _field(page, "body").startswith("We are investigating reports")

    frag = c.get(
        f"/ui/incidents/{iid}/status-draft?template=monitoring", headers={"HX-Request": "true"}
    )
    assert frag.status_code == 200
    assert frag.text.lstrip().startswith('<section id="status-composer"')
    assert "<html" not in frag.text  # a fragment for the swap
    assert _field(frag.text, "body").startswith("A fix has been applied")
    assert _field(frag.text, "template") == "monitoring"

    plain = c.get(f"/ui/incidents/{iid}?template=identified").text  # no JavaScript
    assert _field(plain, "body").startswith("We have identified the cause")
    assert c.get(f"/ui/incidents/{iid}/status-draft?template=nope").status_code == 422


def test_a_commander_posts_an_update_and_the_public_page_shows_it(users: Harness) -> None:
    iid = _resolved(users)
    c = users.client
    sign_in(c, "alice")
    page = c.get(f"/ui/incidents/{iid}").text
    assert _field(page, "template") == "resolved"  # resolved → the resolved template
    body = "Checkout works again <b>for everyone</b>."
    r = c.post(
        f"/ui/incidents/{iid}/status-updates",
        data={"csrf": csrf_of(page), "template": "resolved", "title": "Checkout", "body": body},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith(f"/ui/incidents/{iid}")

    page = c.get(f"/ui/incidents/{iid}").text
    assert "Published updates <small>(1)</small>" in page
    assert "Checkout works again &lt;b&gt;for everyone&lt;/b&gt;." in page
    public = c.get("/status/acme")
    assert public.status_code == 200
    assert "Checkout works again &lt;b&gt;for everyone&lt;/b&gt;." in public.text
    assert "<b>for everyone</b>" not in public.text
    api = c.get(f"/api/v1/incidents/{iid}/status-updates", headers=users.auth("acme", "viewer"))
    assert [(u["status"], u["author"]) for u in api.json()] == [("resolved", "alice")]

    empty = c.post(
        f"/ui/incidents/{iid}/status-updates",
        data={"csrf": csrf_of(page), "template": "resolved", "title": "x", "body": "  "},
    )
    assert empty.status_code == 422 and "needs a title and a body" in empty.text


def test_only_commanders_compose_updates(users: Harness) -> None:
    iid = open_incident(users)
    c = users.client
    sign_in(c, "bob")  # responder
    page = c.get(f"/ui/incidents/{iid}").text
    assert 'id="status-composer"' in page and "Post update" not in page
    assert c.get(f"/ui/incidents/{iid}/status-draft?template=identified").status_code == 403
    r = c.post(
        f"/ui/incidents/{iid}/status-updates",
        data={"csrf": csrf_of(page), "template": "identified", "title": "t", "body": "b"},
    )
    assert r.status_code == 403 and "commander role" in r.text
    assert c.get(f"/api/v1/incidents/{iid}/status-updates", headers=users.auth()).json() == []


# -- post-mortem -----------------------------------------------------------------------------------


def test_the_postmortem_editor_saves_and_the_markdown_export_follows(users: Harness) -> None:
    iid = _resolved(users)
    c = users.client
    sign_in(c, "alice")
    incident = c.get(f"/ui/incidents/{iid}").text
    assert (
        f'href="/ui/incidents/{iid}/postmortem"' in incident and "Edit the post-mortem" in incident
    )
    page = c.get(f"/ui/incidents/{iid}/postmortem").text
    assert "Save post-mortem" in page and "draft" in page
    token = csrf_of(page)
    r = c.post(
        f"/ui/incidents/{iid}/postmortem",
        data={
            "csrf": token,
            "summary": "Checkout was down for 20 minutes.",
            "root_cause": "A bad deploy <script>alert(1)</script>",
            "contributing_factors": "no canary\r\n\r\nalert too late\n",
            "lessons": "Canary every deploy.",
            "status": "draft",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/ui/incidents/{iid}/postmortem"
    r = c.post(
        f"/ui/incidents/{iid}/postmortem/action-items",
        data={
            "csrf": token,
            "title": "Add a canary stage",
            "owner": "bob",
            "due_date": "2030-01-31",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303

    doc = c.get(f"/api/v1/incidents/{iid}/postmortem", headers=users.auth()).json()
    assert doc["summary"] == "Checkout was down for 20 minutes."
    assert doc["root_cause"] == "A bad deploy <script>alert(1)</script>"
    assert doc["contributing_factors"] == ["no canary", "alert too late"]
    assert doc["lessons"] == "Canary every deploy." and doc["updated_by"] == "alice"
    assert [(a["title"], a["owner"], a["due_date"]) for a in doc["action_items"]] == [
        ("Add a canary stage", "bob", "2030-01-31")
    ]
    page = c.get(f"/ui/incidents/{iid}/postmortem").text
    assert _field(page, "root_cause") == "A bad deploy <script>alert(1)</script>"
    assert "<script>alert(1)" not in page
    assert _field(page, "contributing_factors") == "no canary\nalert too late"

    md = c.get(f"/ui/incidents/{iid}/postmortem.md")
    api_md = c.get(f"/api/v1/incidents/{iid}/postmortem.md", headers=users.auth("acme", "viewer"))
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert md.text == api_md.text and "Add a canary stage" in md.text

    bad = c.post(
        f"/ui/incidents/{iid}/postmortem/action-items",
        data={"csrf": token, "title": "x", "due_date": "31/01/2030"},
    )
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text


def test_action_items_are_closed_by_responders(users: Harness) -> None:
    iid = _resolved(users)
    c = users.client
    sign_in(c, "alice")
    token = csrf_of(c.get(f"/ui/incidents/{iid}/postmortem").text)
    c.post(f"/ui/incidents/{iid}/postmortem/action-items", data={"csrf": token, "title": "Fix"})
    item = c.get(f"/api/v1/incidents/{iid}/postmortem", headers=users.auth()).json()[
        "action_items"
    ][0]["id"]
    _as(users, "bob")
    page = c.get(f"/ui/incidents/{iid}/postmortem").text
    assert "Save post-mortem" not in page and "Mark done" in page  # no editor for responders
    r = c.post(
        f"/ui/incidents/{iid}/postmortem/action-items/{item}",
        data={"csrf": csrf_of(page), "status": "done"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    items = c.get("/api/v1/action-items", headers=users.auth()).json()
    assert [(a["id"], a["status"]) for a in items] == [(item, "done")]
    r = c.post(
        f"/ui/incidents/{iid}/postmortem", data={"csrf": csrf_of(page), "summary": "mine now"}
    )
    assert r.status_code == 403


def test_the_postmortem_is_a_preview_until_the_incident_resolves(users: Harness) -> None:
    iid = open_incident(users)
    c = users.client
    sign_in(c, "alice")
    page = c.get(f"/ui/incidents/{iid}/postmortem").text
    assert "preview" in page and "Save post-mortem" not in page
    assert "Edit the post-mortem" not in c.get(f"/ui/incidents/{iid}").text
    r = c.post(f"/ui/incidents/{iid}/postmortem", data={"csrf": csrf_of(page), "summary": "x"})
    assert r.status_code == 422 and "resolve the incident" in r.text


def test_a_viewer_sees_no_forms_and_cannot_post(users: Harness) -> None:
    iid = _resolved(users)
    c = users.client
    sign_in(c, "alice")
    token = csrf_of(c.get(f"/ui/incidents/{iid}/postmortem").text)
    c.post(f"/ui/incidents/{iid}/postmortem/action-items", data={"csrf": token, "title": "Fix"})
    _as(users, "vera")
    for path in (f"/ui/incidents/{iid}", f"/ui/incidents/{iid}/postmortem"):
        html = c.get(path).text
        assert 'method="post" action="/ui/incidents/' not in html, path
        assert "<textarea" not in html and "<button" not in html.split("</header>", 1)[1], path
    assert c.get(f"/ui/incidents/{iid}/postmortem.md").status_code == 200
    token = csrf_of(c.get(f"/ui/incidents/{iid}").text)
    for path, data in (
        (f"/ui/incidents/{iid}/postmortem", {"summary": "x"}),
        (f"/ui/incidents/{iid}/postmortem/action-items", {"title": "x"}),
        (
            f"/ui/incidents/{iid}/status-updates",
            {"template": "resolved", "title": "t", "body": "b"},
        ),
    ):
        assert c.post(path, data={"csrf": token, **data}).status_code == 403, path


def test_forged_posts_are_refused_and_change_nothing(users: Harness) -> None:
    iid = _resolved(users)
    c = users.client
    sign_in(c, "alice")
    for path, data in (
        (
            f"/ui/incidents/{iid}/status-updates",
            {"template": "resolved", "title": "t", "body": "b"},
        ),
        (f"/ui/incidents/{iid}/postmortem", {"summary": "forged"}),
        (f"/ui/incidents/{iid}/postmortem/action-items", {"title": "forged"}),
    ):
        for csrf in ({}, {"csrf": "not-the-token"}):
            r = c.post(path, data={**data, **csrf}, follow_redirects=False)
            assert r.status_code == 403 and "Nothing was changed" in r.text, path
    assert c.get(f"/api/v1/incidents/{iid}/status-updates", headers=users.auth()).json() == []
    doc = c.get(f"/api/v1/incidents/{iid}/postmortem", headers=users.auth()).json()
    assert doc["updated_by"] is None and doc["action_items"] == []


def test_another_tenants_postmortem_is_not_found(users: Harness) -> None:
    iid = _resolved(users)
    c = users.client
    sign_in(c, "carmen", PASSWORD)  # globex
    assert c.get(f"/ui/incidents/{iid}/postmortem").status_code == 404
    assert c.get(f"/ui/incidents/{iid}/postmortem.md").status_code == 404
    token = csrf_of(c.get("/ui/").text)
    r = c.post(f"/ui/incidents/{iid}/postmortem", data={"csrf": token, "summary": "x"})
    assert r.status_code == 404


def test_signed_out_browsers_go_to_sign_in(users: Harness) -> None:
    iid = open_incident(users)
    for path in ("postmortem", "postmortem.md", "status-draft?template=resolved"):
        r = users.client.get(f"/ui/incidents/{iid}/{path}", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/ui/login", path


# -- step results ----------------------------------------------------------------------------------

CHART: dict[str, Any] = {
    "kind": "chart",
    "title": 'rate(http_errors{job="<checkout>"}[5m])',
    "series": [
        {
            "name": '{pod="a</text><script>alert(1)</script>"}',
            "points": [[0, 1], [60, 3], [120, 2]],
        },
        {"name": "flat & fine", "points": [[0, 5], [60, 5], [120, "NaN"], [180, "x"]]},
        {"name": "empty", "points": []},
    ],
}


def _with_result(h: Harness, iid: str, result: dict[str, Any]) -> None:
    """A finished run of step 1 (it needs ``API_BASE``, so nothing runs it by itself) with
    ``result``, written straight to the database: no executor or worker races the test."""
    now = h.clock.now()
    engine = make_engine(h.url)
    with make_sessionmaker(engine).begin() as s:
        s.add(
            StepRun(
                id="run_chart_test", tenant="acme", incident_id=iid, runbook_id="rb",
                section_id="sec", step_index=1, step_title="Ask the API itself", kind="http",
                safety="read-only", command="curl", binding="0" * 64, variables={},
                status="ok", automatic=False, requested_by="bob", requested_at=now,
                approval_expires_at=None, started_at=now, finished_at=now, result=result,
            )
        )  # fmt: skip
    engine.dispose()


def test_a_chart_block_is_a_well_formed_inline_svg(users: Harness) -> None:
    iid = open_incident(users)
    text = {"kind": "text", "text": "PONG"}
    _with_result(users, iid, {"status": "ok", "summary": "PONG", "blocks": [text, CHART]})
    c = users.client
    sign_in(c, "vera")
    html = c.get(f"/ui/incidents/{iid}").text
    assert html.count("PONG") == 1, "a one-line result is shown once"
    svgs = [s for s in _SVG.findall(html) if 'role="img"' in s]
    assert len(svgs) == 1
    svg = ET.fromstring(svgs[0])  # well-formed XML
    assert svg.tag == f"{SVG_NS}svg" and svg.get("viewBox") == "0 0 320 120"
    lines = svg.findall(f"{SVG_NS}polyline")
    assert len(lines) == 2  # the empty series is not drawn
    assert lines[0].get("points") == "44.0,100.0 178.0,54.0 312.0,77.0"
    assert lines[1].get("points") == "44.0,8.0 178.0,8.0"  # NaN and "x" left out
    assert lines[0].findtext(f"{SVG_NS}title") == CHART["series"][0]["name"]
    assert svg.findtext(f"{SVG_NS}title") == CHART["title"]
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "charts come with the reports page" not in html
    assert c.get(f"/ui/incidents/{iid}/steps").text.count("<polyline") == 2


def test_chart_views_scale_and_refuse_junk() -> None:
    assert chart_view({"kind": "chart", "title": "t", "series": "junk"}) is None
    assert chart_view({"kind": "chart", "series": [{"name": "n", "points": [["a", "b"]]}]}) is None
    one = chart_view({"kind": "chart", "title": "", "series": [{"points": [[5, 7]]}]})
    assert one is not None and one.lines[0].points == "178.0,54.0" and one.lines[0].name == "series"
    many = chart_view(
        {"series": [{"name": str(i), "points": [[t, t] for t in range(2000)]} for i in range(12)]}
    )
    assert many is not None and len(many.lines) == 8 and many.left_off == 4
    assert all(len(ln.points.split()) <= 400 for ln in many.lines)
    assert many.lines[0].points.split()[-1] == "312.0,8.0"  # the last point is kept
    assert many.y_max == "2k" and many.y_min == "0"
    kept = result_blocks({"summary": "3 rows", "blocks": [{"kind": "text", "text": "other"}]})
    assert kept == [{"kind": "text", "text": "other"}]
    assert result_blocks(None) == []
