"""Fingerprints, label matchers, routing, severity mapping and grouping — table-driven."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsbook.config.load import parse_config
from opsbook.config.models import Matcher
from opsbook.incidents.models import Severity
from opsbook.intake.fingerprint import fingerprint
from opsbook.intake.models import AlertIn, EventAction
from opsbook.intake.routing import decide, group_key, matches
from tests.support.app import TEST_CONFIG

FIXTURE = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "fixtures"
    / "alertmanager-webhook-v4-firing.json"
)


def test_fingerprint_equals_alertmanagers_own_on_the_captured_webhook() -> None:
    if not FIXTURE.exists():
        pytest.skip(f"captured Alertmanager fixture not found at {FIXTURE}")
    alert = json.loads(FIXTURE.read_text())["alerts"][0]
    assert fingerprint(alert["labels"]) == alert["fingerprint"] == "3438d96d06b494e4"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (
            {"alertname": "X", "job": "a"},
            {"job": "a", "alertname": "X"},
            True,
        ),  # order does not matter
        ({"alertname": "X", "job": "a"}, {"alertname": "X", "job": "b"}, False),
        ({"ab": "c"}, {"a": "bc"}, False),  # the separator keeps name/value boundaries
        ({}, {}, True),
    ],
)
def test_fingerprint_identity(a: dict[str, str], b: dict[str, str], same: bool) -> None:
    assert (fingerprint(a) == fingerprint(b)) is same
    assert len(fingerprint(a)) == 16


@pytest.mark.parametrize(
    ("matcher", "labels", "hit"),
    [
        ("job=api", {"job": "api"}, True),
        ("job=api", {"job": "api2"}, False),
        ("job!=api", {"job": "web"}, True),
        ("job!=api", {}, True),  # missing label is ""
        ('job=""', {}, True),
        ("job=~ap.*", {"job": "api"}, True),
        ("job=~ap", {"job": "api"}, False),  # regexes are fully anchored
        ("job=~a|b", {"job": "b"}, True),
        ("job!~ap.*", {"job": "api"}, False),
        ("job!~ap.*", {"job": "web"}, True),
        ('severity=~"critical|high"', {"severity": "high"}, True),
    ],
)
def test_matchers_follow_alertmanager_semantics(
    matcher: str, labels: dict[str, str], hit: bool
) -> None:
    assert matches(Matcher.parse(matcher), labels) is hit


CONFIG = parse_config(TEST_CONFIG)


def _alert(severity_hint: str | None = None, **labels: str) -> AlertIn:
    return AlertIn(
        "test", fingerprint(labels), EventAction.TRIGGER, labels, severity_hint=severity_hint
    )


@pytest.mark.parametrize(
    ("tenant", "labels", "service", "severity", "auto_resolve"),
    [
        (
            "acme",
            {"alertname": "Down", "job": "checkout", "severity": "critical"},
            "checkout-api",
            "P0",
            True,
        ),
        ("acme", {"alertname": "IndexerLag", "severity": "warning"}, "search-indexer", "P2", True),
        (
            "acme",
            {"alertname": "Other", "severity": "info"},
            "acme-catchall",
            "P3",
            True,
        ),  # default route
        (
            "acme",
            {"alertname": "Other"},
            "acme-catchall",
            "P2",
            True,
        ),  # no severity label: default P2
        (
            "acme",
            {"alertname": "Other", "severity": "P1"},
            "acme-catchall",
            "P1",
            True,
        ),  # literal level
        ("acme", {"alertname": "Other", "severity": "sev0"}, "acme-catchall", "P0", True),
        ("acme", {"alertname": "Other", "severity": "bogus"}, "acme-catchall", "P2", True),
        (
            "globex",
            {"alertname": "Lag", "service": "ledger", "severity": "warning"},
            "ledger",
            "P1",
            False,
        ),  # route map
        ("globex", {"alertname": "Lag", "service": "ledger-replica"}, "ledger", "P2", False),
        # a route belongs to its service's tenant: globex alerts never reach acme's checkout route
        ("globex", {"alertname": "Down", "job": "checkout"}, "unrouted", "P2", True),
        ("acme", {"alertname": "Lag", "service": "ledger"}, "acme-catchall", "P2", True),
    ],
)
def test_routing_first_match_wins_per_tenant(
    tenant: str, labels: dict[str, str], service: str, severity: str, auto_resolve: bool
) -> None:
    d = decide(CONFIG, tenant, _alert(**labels))
    assert (d.service, d.severity, d.auto_resolve) == (service, Severity(severity), auto_resolve)


def test_severity_hint_from_events_is_mapped() -> None:
    a = AlertIn("events", "k", EventAction.TRIGGER, {"alertname": "x"}, severity_hint="critical")
    assert decide(CONFIG, "acme", a).severity is Severity.P0


def test_route_fixed_severity_wins_over_labels() -> None:
    cfg = parse_config(
        "tenants: [{name: a}]\nservices: [{name: s, tenant: a}]\n"
        "routes: [{match: {team: db}, service: s, severity: P1}]\n"
    )
    assert (
        decide(cfg, "a", _alert(team="db", severity="info", alertname="x")).severity is Severity.P1
    )


@pytest.mark.parametrize(
    ("group_by", "a", "b", "same"),
    [
        (["alertname"], {"alertname": "X", "pod": "1"}, {"alertname": "X", "pod": "2"}, True),
        (["alertname"], {"alertname": "X"}, {"alertname": "Y"}, False),
        (
            ["alertname", "queue"],
            {"alertname": "X", "queue": "a"},
            {"alertname": "X", "queue": "b"},
            False,
        ),
        (["..."], {"alertname": "X", "pod": "1"}, {"alertname": "X", "pod": "2"}, False),
        (["..."], {"alertname": "X", "pod": "1"}, {"pod": "1", "alertname": "X"}, True),
    ],
)
def test_group_keys(group_by: list[str], a: dict[str, str], b: dict[str, str], same: bool) -> None:
    assert (group_key("svc", group_by, a)[0] == group_key("svc", group_by, b)[0]) is same
    assert group_key("svc", group_by, a)[0] != group_key("other", group_by, a)[0]
