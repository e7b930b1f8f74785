"""The on-call page of the web UI (TestClient, SQLite and PostgreSQL): who is on call now and
next, the hand-off under a frozen clock, overrides added and removed through the forms with the
API's rules, viewers without forms, CSRF, and tenant scoping.

``acme-primary`` hands off weekly on Mondays 09:00 UTC between alice and bob; the harness clock
starts on Thursday 2026-01-01 12:00 UTC, in alice's week. ``globex-primary`` is daily at 09:00
Europe/Berlin between carmen and dave.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tests.support.app import Harness
from tests.support.web import add_web_users, csrf_of, sign_in

_NOW = re.compile(r'class="oncall-user">([^<]*)<')
_NEXT = re.compile(
    r'class="oncall-next">([^<]*)</strong>\s*<span class="muted">from ([\d-]+ [\d:]+) '
)
_REMOVE = re.compile(r'action="(/ui/oncall/[^"]+/remove)"')


@pytest.fixture
def users(h: Harness) -> Harness:
    """alice (commander), bob (responder), vera (viewer) in acme; carmen (commander) in globex."""
    return add_web_users(h)


def on_call(c: TestClient) -> tuple[str, tuple[str, str] | None]:
    html = c.get("/ui/oncall").text
    now = _NOW.search(html)
    nxt = _NEXT.search(html)
    return (now.group(1) if now else "nobody"), ((nxt.group(1), nxt.group(2)) if nxt else None)


def overrides(
    h: Harness, schedule: str = "acme-primary", tenant: str = "acme"
) -> list[dict[str, str]]:
    r = h.client.get(f"/api/v1/schedules/{schedule}/overrides", headers=h.auth(tenant, "viewer"))
    assert r.status_code == 200, r.text
    body: list[dict[str, str]] = r.json()
    return body


def test_on_call_now_and_next_and_after_the_hand_off(users: Harness) -> None:
    c = users.client
    assert c.get("/ui/oncall", follow_redirects=False).headers["location"] == "/ui/login"
    sign_in(c, "vera")
    r = c.get("/ui/oncall")
    assert r.status_code == 200 and "script-src 'self'" in r.headers["content-security-policy"]
    html = r.text
    assert 'href="/ui/oncall"' in html and "acme-primary" in html and "globex-primary" not in html
    assert html.count('<th scope="row">') == 14  # the two-week view, one row per day
    assert '<th scope="col">Shifts</th>' in html and 'aria-current="date"' in html
    assert "00:00–09:00 <strong>alice</strong>" in html  # Monday 5 January's hand-off
    assert "09:00–24:00 <strong>bob</strong>" in html
    assert on_call(c) == ("alice", ("bob", "2026-01-05 09:00"))

    users.clock.set(datetime(2026, 1, 5, 8, 59, tzinfo=UTC))
    c.cookies.clear()  # four days on, the 8-hour session has expired
    sign_in(c, "vera")
    assert on_call(c)[0] == "alice"
    users.clock.set(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    assert on_call(c) == ("bob", ("alice", "2026-01-12 09:00"))


def test_a_responder_adds_and_removes_an_override(users: Harness) -> None:
    c = users.client
    sign_in(c, "bob")
    html = c.get("/ui/oncall").text
    assert '<label for="user-acme-primary"' in html and 'type="datetime-local"' in html
    assert "time zone, UTC" in html
    token = csrf_of(html)
    r = c.post(
        "/ui/oncall/acme-primary/overrides",
        data={
            "csrf": token,
            "user": "bob",
            "replaces": "alice",
            "start": "2026-01-01T11:00",
            "end": "2026-01-01T15:30",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/ui/oncall#schedule-acme-primary"
    (stored,) = overrides(users)
    assert stored["user"] == "bob" and stored["replaces"] == "alice"
    assert stored["start"].startswith("2026-01-01T11:00") and stored["created_by"] == "bob"
    assert on_call(c) == ("bob", ("alice", "2026-01-01 15:30"))
    html = c.get("/ui/oncall").text
    assert "12:00–15:30 <strong>bob</strong>" not in html  # the day row starts at midnight
    assert '11:00–15:30 <strong>bob</strong> <span class="badge safety-mutating">override' in html

    (remove,) = _REMOVE.findall(html)
    r = c.post(remove, data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    assert overrides(users) == [] and on_call(c)[0] == "alice"
    assert c.post(remove, data={"csrf": token}).status_code == 404  # already gone


def test_the_api_rules_apply_to_the_form(users: Harness) -> None:
    c = users.client
    sign_in(c, "alice")
    token = csrf_of(c.get("/ui/oncall").text)
    good = {"csrf": token, "user": "bob", "start": "2026-01-02T09:00", "end": "2026-01-02T17:00"}
    for change, status, says in (
        ({"end": "2026-01-02T08:00"}, 422, "end must be after start"),
        ({"end": "2026-04-15T09:00"}, 422, "at most 90 days"),
        ({"user": "mallory"}, 422, "unknown user &#39;mallory&#39; in this tenant"),
        ({"user": "carmen"}, 422, "unknown user"),  # globex's
        ({"replaces": "dave"}, 422, "unknown user &#39;dave&#39;"),
        ({"user": ""}, 422, "choose who covers"),
        ({"start": "tomorrow"}, 422, "give a date and time"),
    ):
        r = c.post("/ui/oncall/acme-primary/overrides", data={**good, **change})
        assert r.status_code == status and says in r.text, (change, r.status_code)
        assert 'role="alert"' in r.text
    r = c.post("/ui/oncall/globex-primary/overrides", data=good)
    assert r.status_code == 404
    assert overrides(users) == []


def test_a_viewer_sees_no_forms_and_forged_posts_are_refused(users: Harness) -> None:
    c = users.client
    sign_in(c, "vera")
    html = c.get("/ui/oncall").text
    assert 'action="/ui/oncall' not in html and "<select" not in html and "Remove" not in html
    form = {"user": "bob", "start": "2026-01-02T09:00", "end": "2026-01-02T17:00"}
    r = c.post("/ui/oncall/acme-primary/overrides", data={"csrf": csrf_of(html), **form})
    assert r.status_code == 403 and "responder role" in r.text
    c.cookies.clear()
    sign_in(c, "bob")
    for data in (form, {**form, "csrf": "not-the-token"}):
        r = c.post("/ui/oncall/acme-primary/overrides", data=data)
        assert r.status_code == 403 and "Nothing was changed" in r.text
    assert overrides(users) == []


def test_form_times_are_read_in_the_schedules_time_zone_and_tenants_are_apart(
    users: Harness,
) -> None:
    c = users.client
    sign_in(c, "bob")
    token = csrf_of(c.get("/ui/oncall").text)
    c.post(
        "/ui/oncall/acme-primary/overrides",
        data={"csrf": token, "user": "bob", "start": "2026-01-01T11:00", "end": "2026-01-01T13:00"},
    )
    (acme,) = overrides(users)
    c.cookies.clear()
    sign_in(c, "carmen")
    html = c.get("/ui/oncall").text
    assert (
        "globex-primary" in html
        and "acme-primary" not in html
        and "time zone, Europe/Berlin" in html
    )
    token = csrf_of(html)
    who = on_call(c)[0]
    other = "dave" if who == "carmen" else "carmen"
    r = c.post(
        "/ui/oncall/globex-primary/overrides",
        data={"csrf": token, "user": other, "start": "2026-01-01T12:30", "end": "2026-01-01T14:00"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    (ovr,) = overrides(users, "globex-primary", "globex")
    assert ovr["start"].startswith("2026-01-01T11:30") and ovr["end"].startswith("2026-01-01T13:00")
    assert on_call(c)[0] == other  # 12:00 UTC is 13:00 in Berlin, inside the override
    r = c.post(f"/ui/oncall/acme-primary/overrides/{acme['id']}/remove", data={"csrf": token})
    assert r.status_code == 404
    assert len(overrides(users)) == 1
