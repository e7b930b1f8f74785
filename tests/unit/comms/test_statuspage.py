"""Status derivation, history bars, templates that use only public facts, and the Atom feed."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from opsbook.incidents.models import Severity
from opsbook.statuspage.derive import (
    IncidentSpan,
    OpenIncident,
    Override,
    daily_history,
    derive_states,
    indicator,
    uptime_percent,
)
from opsbook.statuspage.feed import ATOM_NS, Page, PublicIncident, PublicUpdate, atom, summary
from opsbook.statuspage.models import ComponentState as S
from opsbook.statuspage.models import UpdateStatus
from opsbook.statuspage.templates import TEMPLATES, PublicFacts, draft

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
COMPONENTS = {"checkout": ["API", "Web"], "search": ["Search", "API"], "batch": []}
# every component opted in to automatic publishing (the table below tests the severity mapping)
AUTO = {svc: dict.fromkeys(comps, Severity.P3) for svc, comps in COMPONENTS.items()}


@pytest.mark.parametrize(
    ("incidents", "maintenance", "overrides", "expected"),
    [
        ([], [], {}, {"API": S.OPERATIONAL, "Web": S.OPERATIONAL, "Search": S.OPERATIONAL}),
        (
            [("checkout", Severity.P0)],
            [],
            {},
            {"API": S.MAJOR_OUTAGE, "Web": S.MAJOR_OUTAGE, "Search": S.OPERATIONAL},
        ),
        (
            [("search", Severity.P1)],
            [],
            {},
            {"API": S.PARTIAL_OUTAGE, "Web": S.OPERATIONAL, "Search": S.PARTIAL_OUTAGE},
        ),
        (
            [("checkout", Severity.P2)],
            [],
            {},
            {"API": S.DEGRADED_PERFORMANCE, "Web": S.DEGRADED_PERFORMANCE, "Search": S.OPERATIONAL},
        ),
        (
            [("checkout", Severity.P3)],
            [],
            {},
            {"API": S.OPERATIONAL, "Web": S.OPERATIONAL, "Search": S.OPERATIONAL},
        ),
        # worst wins across services sharing a component
        (
            [("checkout", Severity.P2), ("search", Severity.P0)],
            [],
            {},
            {"API": S.MAJOR_OUTAGE, "Web": S.DEGRADED_PERFORMANCE, "Search": S.MAJOR_OUTAGE},
        ),
        # maintenance shows unless an outage is worse
        (
            [],
            ["Web"],
            {},
            {"API": S.OPERATIONAL, "Web": S.UNDER_MAINTENANCE, "Search": S.OPERATIONAL},
        ),
        (
            [("checkout", Severity.P1)],
            ["Web"],
            {},
            {"API": S.PARTIAL_OUTAGE, "Web": S.PARTIAL_OUTAGE, "Search": S.OPERATIONAL},
        ),
        # a live override wins both ways; an expired one is ignored
        (
            [("checkout", Severity.P0)],
            [],
            {"API": Override(S.DEGRADED_PERFORMANCE)},
            {"API": S.DEGRADED_PERFORMANCE, "Web": S.MAJOR_OUTAGE, "Search": S.OPERATIONAL},
        ),
        (
            [],
            [],
            {"Search": Override(S.MAJOR_OUTAGE, NOW + timedelta(minutes=1))},
            {"API": S.OPERATIONAL, "Web": S.OPERATIONAL, "Search": S.MAJOR_OUTAGE},
        ),
        (
            [],
            [],
            {"Search": Override(S.MAJOR_OUTAGE, NOW)},
            {"API": S.OPERATIONAL, "Web": S.OPERATIONAL, "Search": S.OPERATIONAL},
        ),
    ],
)
def test_derive_states(
    incidents: list[tuple[str, Severity]],
    maintenance: list[str],
    overrides: dict[str, Override],
    expected: dict[str, S],
) -> None:
    opened = [OpenIncident(svc, sev) for svc, sev in incidents]
    assert derive_states(COMPONENTS, opened, maintenance, overrides, NOW, AUTO) == expected


OPERATIONAL = {"API": S.OPERATIONAL, "Web": S.OPERATIONAL, "Search": S.OPERATIONAL}


@pytest.mark.parametrize(
    ("incident", "auto", "expected"),
    [
        # by default an unpublished incident, even a P0, changes nothing on the public page
        (OpenIncident("checkout", Severity.P0), {}, OPERATIONAL),
        # a person published: the components named, at the impact announced
        (
            OpenIncident("checkout", Severity.P0, {"Web": S.PARTIAL_OUTAGE}),
            {},
            {**OPERATIONAL, "Web": S.PARTIAL_OUTAGE},
        ),
        # published components outside the incident's service count too
        (
            OpenIncident("checkout", Severity.P2, {"Search": S.MAJOR_OUTAGE}),
            {},
            {**OPERATIONAL, "Search": S.MAJOR_OUTAGE},
        ),
        # opt-in per component, from a least severity on
        (
            OpenIncident("checkout", Severity.P0),
            {"checkout": {"API": Severity.P1}},
            {**OPERATIONAL, "API": S.MAJOR_OUTAGE},
        ),
        (OpenIncident("checkout", Severity.P2), {"checkout": {"API": Severity.P1}}, OPERATIONAL),
        # another service's opt-in does not reach this service's incidents
        (OpenIncident("checkout", Severity.P0), {"search": {"API": Severity.P3}}, OPERATIONAL),
        # what a person published wins over the automatic state
        (
            OpenIncident("checkout", Severity.P0, {"API": S.DEGRADED_PERFORMANCE}),
            {"checkout": {"API": Severity.P3}},
            {**OPERATIONAL, "API": S.DEGRADED_PERFORMANCE},
        ),
    ],
)
def test_publishing_is_a_persons_act_unless_opted_in(
    incident: OpenIncident, auto: dict[str, dict[str, Severity]], expected: dict[str, S]
) -> None:
    assert derive_states(COMPONENTS, [incident], [], {}, NOW, auto) == expected


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([S.OPERATIONAL], ("none", "All Systems Operational")),
        ([], ("none", "All Systems Operational")),
        ([S.OPERATIONAL, S.UNDER_MAINTENANCE], ("maintenance", "Service Under Maintenance")),
        ([S.DEGRADED_PERFORMANCE, S.UNDER_MAINTENANCE], ("minor", "Minor Service Outage")),
        ([S.PARTIAL_OUTAGE], ("major", "Partial System Outage")),
        ([S.PARTIAL_OUTAGE, S.MAJOR_OUTAGE], ("critical", "Major System Outage")),
    ],
)
def test_indicator(states: list[S], expected: tuple[str, str]) -> None:
    assert indicator(states) == expected


def test_history_worst_state_per_day_and_uptime() -> None:
    spans = [
        IncidentSpan(
            "checkout",
            Severity.P2,
            datetime(2026, 1, 8, 10, tzinfo=UTC),
            datetime(2026, 1, 8, 11, tzinfo=UTC),
        ),
        IncidentSpan(
            "checkout",
            Severity.P0,
            datetime(2026, 1, 8, 23, tzinfo=UTC),
            datetime(2026, 1, 9, 1, tzinfo=UTC),
        ),
        IncidentSpan(
            "search", Severity.P1, datetime(2026, 1, 10, 11, tzinfo=UTC), None
        ),  # still open
        IncidentSpan(
            "checkout",
            Severity.P0,
            datetime(2025, 6, 1, tzinfo=UTC),
            datetime(2025, 6, 2, tzinfo=UTC),
        ),  # too old
    ]
    bars = daily_history(COMPONENTS, spans, NOW, days=5, auto_publish=AUTO)
    assert [b.day.day for b in bars["Web"]] == [6, 7, 8, 9, 10]
    assert [b.state for b in bars["Web"]] == [
        S.OPERATIONAL,
        S.OPERATIONAL,
        S.MAJOR_OUTAGE,
        S.MAJOR_OUTAGE,
        S.OPERATIONAL,
    ]
    assert [b.state for b in bars["API"]][-1] is S.PARTIAL_OUTAGE  # search is open on API too
    assert [b.outage_minutes for b in bars["Web"]] == [0, 0, 60, 60, 0]
    assert uptime_percent(bars["Web"]) == round(100 * (5 * 1440 - 120) / (5 * 1440), 2)
    assert uptime_percent(bars["Search"][:4]) == 100.0

    # without the opt-in only what was published shows: the P0 of the 8th was, on Web only
    spans[1] = dataclasses.replace(spans[1], published={"Web": S.MAJOR_OUTAGE})
    bars = daily_history(COMPONENTS, spans, NOW, days=5)
    assert [b.state for b in bars["Web"]] == [S.OPERATIONAL] * 2 + [S.MAJOR_OUTAGE] * 2 + [
        S.OPERATIONAL
    ]
    assert {b.state for b in bars["API"]} == {S.OPERATIONAL}


FACTS = PublicFacts(["API", "Web"], S.MAJOR_OUTAGE, datetime(2026, 1, 10, 11, 58, tzinfo=UTC))


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_every_template_drafts_from_public_facts(name: str) -> None:
    d = draft(name, FACTS)
    assert d.status is TEMPLATES[name][0]
    assert "API and Web" in d.title + d.body
    assert "{" not in d.title + d.body


def test_investigating_draft_reads_well() -> None:
    d = draft("investigating", FACTS)
    assert d.title == "API and Web: unavailable"
    assert "since 2026-01-10 11:58 UTC" in d.body
    assert draft("investigating", PublicFacts([], S.DEGRADED_PERFORMANCE, NOW)).title.startswith(
        "some of our services"
    )


def _page() -> tuple[Page, list[PublicIncident]]:
    upd = PublicUpdate(
        "upd_1", UpdateStatus.INVESTIGATING, "Checkout <b>is</b> slow & failing", NOW
    )
    inc = PublicIncident(
        "pi_1",
        "Checkout errors",
        UpdateStatus.INVESTIGATING,
        ["API"],
        NOW,
        NOW,
        [upd],
        S.MAJOR_OUTAGE,
    )
    page = Page(
        "acme",
        "Acme status",
        "http://x/status/acme",
        NOW,
        "critical",
        "Major System Outage",
        {"API": S.MAJOR_OUTAGE},
        [inc],
        [],
    )
    return page, [inc]


def test_atom_is_valid_xml_in_the_atom_namespace() -> None:
    page, hist = _page()
    root = ET.fromstring(atom(page, hist, "http://x/status/acme/feed.atom"))
    ns = {"a": ATOM_NS}
    assert root.tag == f"{{{ATOM_NS}}}feed"
    for required in ("id", "title", "updated", "author/a:name"):
        assert root.find(f"a:{required}", ns) is not None, required
    entries = root.findall("a:entry", ns)
    assert len(entries) == 1
    assert entries[0].findtext("a:title", namespaces=ns) == "Checkout errors (investigating)"
    assert "Checkout <b>is</b> slow & failing" in (
        entries[0].findtext("a:content", namespaces=ns) or ""
    )
    assert entries[0].findtext("a:updated", namespaces=ns) == "2026-01-10T12:00:00Z"


def test_summary_shape() -> None:
    page, _ = _page()
    body = summary(page)
    assert set(body) == {"page", "status", "components", "incidents", "scheduled_maintenances"}
    assert body["status"] == {"indicator": "critical", "description": "Major System Outage"}
    assert body["components"] == [{"name": "API", "status": "major_outage"}]
    inc = body["incidents"][0]
    assert inc["name"] == "Checkout errors" and inc["status"] == "investigating"
    assert inc["updates"] == [
        {
            "status": "investigating",
            "body": "Checkout <b>is</b> slow & failing",
            "created_at": "2026-01-10T12:00:00Z",
        }
    ]
