"""Who is on call, now and at any time, with overrides made at run time; the iCalendar feed."""

from __future__ import annotations

from icalendar import Calendar

from tests.support.app import Harness


def _oncall(h: Harness, tenant: str = "acme", **params: str) -> list[dict[str, object]]:
    r = h.client.get("/api/v1/oncall", params=params, headers=h.auth(tenant, "viewer"))
    assert r.status_code == 200, r.text
    out: list[dict[str, object]] = r.json()
    return out


def test_who_is_on_call_now_and_later(h: Harness) -> None:
    # the harness clock starts Thursday 2026-01-01 12:00 UTC; weekly handoff Monday 09:00
    [acme] = _oncall(h)
    assert acme["schedule"] == "acme-primary" and acme["on_call"] in (["alice"], ["bob"])
    now_person = acme["on_call"]
    [later] = _oncall(h, at="2026-01-06T10:00:00Z")  # after Monday's handoff: the other person
    assert later["on_call"] != now_person and later["on_call"] in (["alice"], ["bob"])
    shifts = acme["next"]
    assert isinstance(shifts, list) and shifts[0]["user"] == now_person[0]
    assert shifts[1]["start"].startswith("2026-01-05T09:00")


def test_an_override_covers_the_shift_and_can_be_removed(h: Harness) -> None:
    [before] = _oncall(h)
    person = before["on_call"][0]  # type: ignore[index]
    other = "bob" if person == "alice" else "alice"
    r = h.client.post(
        "/api/v1/schedules/acme-primary/overrides",
        json={
            "user": other,
            "replaces": person,
            "start": "2026-01-01T11:00:00Z",
            "end": "2026-01-01T18:00:00Z",
        },
        headers=h.auth("acme", "responder"),
    )
    assert r.status_code == 201, r.text
    assert _oncall(h)[0]["on_call"] == [other]
    assert _oncall(h, at="2026-01-01T19:00:00Z")[0]["on_call"] == [person]
    listed = h.client.get(
        "/api/v1/schedules/acme-primary/overrides", headers=h.auth("acme", "viewer")
    ).json()
    assert [o["user"] for o in listed] == [other]
    gone = h.client.delete(
        f"/api/v1/schedules/acme-primary/overrides/{r.json()['id']}",
        headers=h.auth("acme", "responder"),
    )
    assert gone.status_code == 204
    assert _oncall(h)[0]["on_call"] == [person]


def test_bad_overrides_are_refused_with_the_field(h: Harness) -> None:
    url, hdr = "/api/v1/schedules/acme-primary/overrides", h.auth("acme", "responder")
    r = h.client.post(
        url,
        json={"user": "zed", "start": "2026-01-01T11:00:00Z", "end": "2026-01-01T12:00:00Z"},
        headers=hdr,
    )
    assert r.status_code == 422 and r.json()["field"] == "user"
    r = h.client.post(
        url,
        json={"user": "bob", "start": "2026-01-02T11:00:00Z", "end": "2026-01-01T12:00:00Z"},
        headers=hdr,
    )
    assert r.status_code == 422
    assert (
        h.client.post(
            url,
            json={"user": "bob", "start": "2026-01-01T11:00:00Z", "end": "2026-01-01T12:00:00Z"},
            headers=h.auth("acme", "viewer"),
        ).status_code
        == 403
    )


def test_ics_feed_parses_and_lists_the_shifts(h: Harness) -> None:
    r = h.client.get(
        "/api/v1/schedules/globex-primary.ics",
        params={"days": 7},
        headers=h.auth("globex", "viewer"),
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(r.text)
    events = [c for c in cal.walk() if c.name == "VEVENT"]
    assert len(events) >= 7  # daily handoffs
    people = {str(e.get("summary")) for e in events}
    assert any("carmen" in p for p in people) and any("dave" in p for p in people)
    mine = h.client.get(
        "/api/v1/schedules/globex-primary.ics",
        params={"user": "dave"},
        headers=h.auth("globex", "viewer"),
    )
    assert "carmen" not in mine.text
    assert (
        h.client.get(
            "/api/v1/schedules/globex-primary.ics", headers=h.auth("acme", "viewer")
        ).status_code
        == 404
    )
