"""`routes test`: the whole chain for a label set — route, severity, silence, runbook, who is paged
now — through the API (overrides and silences count), offline from a config file, and storing
nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from opsbook.cli.main import app as cli
from opsbook.config.load import parse_config
from opsbook.flows.route_test import explain_route
from opsbook.storage.db import make_engine
from opsbook.storage.tables import Incident
from opsbook.testing import FrozenClock
from tests.support.app import EXAMPLES, Harness, running_app

CONFIG = """
tenants: [{name: acme}]
users:
  - {name: alice, tenant: acme, contacts: ["mailto://alice@example.com", "json://127.0.0.1:9/a"]}
  - {name: bob, tenant: acme, contacts: ["json://127.0.0.1:9/bob"],
     notify: [{severities: [P2, P3], channels: all,
               quiet_hours: {start: "00:00", end: "23:59", timezone: UTC}}]}
  - {name: lead, tenant: acme, contacts: ["json://127.0.0.1:9/lead"]}
schedules:
  - name: primary
    tenant: acme
    rotation: {every: 1w, handoff: "Mon 09:00", participants: [alice, bob]}
escalation_policies:
  - name: platform
    tenant: acme
    repeat: 1
    steps:
      - {notify: {schedule: primary}}
      - {after: 15m, notify: {users: [lead]}}
      - {after: 10m, notify: {users: [bob]}}
services:
  - {name: checkout-api, tenant: acme, escalation_policy: platform,
     runbooks: ["@EXAMPLES@/runbooks/checkout-api.md"]}
  - {name: orphan, tenant: acme}
routes:
  - {match: {job: checkout}, service: checkout-api}
  - {match: {job: orphan}, service: orphan}
""".replace("@EXAMPLES@", str(EXAMPLES))


@pytest.fixture(scope="module")
def h(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """One server for the module: only the override/silence test changes state, and the tests
    before it in this file do not depend on it."""
    db = tmp_path_factory.mktemp("routes") / "o.db"
    with running_app(f"sqlite:///{db}", CONFIG, run_worker=False) as harness:
        yield harness


def _test(h: Harness, role: str = "viewer", **body: object) -> dict[str, object]:
    r = h.client.post("/api/v1/routes/test", json=body, headers=h.auth(role=role))
    assert r.status_code == 200, r.text
    out: dict[str, object] = r.json()
    return out


def test_pure_verdict_names_route_severity_runbook_and_levels() -> None:
    cfg = parse_config(CONFIG)
    now = FrozenClock().now()
    v = explain_route(
        cfg, None, "acme", {"alertname": "X", "job": "checkout", "severity": "P2"}, now
    )
    assert (v.service, v.severity, v.route_index, v.policy, v.repeat) == (
        "checkout-api",
        "P2",
        0,
        "platform",
        1,
    )
    assert [lv.fires_after for lv in v.levels] == [
        timedelta(0),
        timedelta(minutes=15),
        timedelta(minutes=25),
    ]
    assert v.levels[1].people[0].user == "lead"
    # bob's quiet hours hold P2 pages all day: he is listed but reached on no contact
    third = v.levels[2].people[0]
    assert third.user == "bob" and third.channels == () and "quiet hours" in third.note
    orphan = explain_route(cfg, None, "acme", {"alertname": "Y", "job": "orphan"}, now)
    assert orphan.levels == () and orphan.first_paged == []
    assert orphan.nobody_paged and "no escalation_policy" in orphan.nobody_paged


def test_api_shows_who_is_paged_and_the_runbook_and_stores_nothing(h: Harness) -> None:
    out = _test(h, labels={"alertname": "CheckoutApiDown", "job": "checkout", "severity": "P0"})
    assert out["service"] == "checkout-api" and out["severity"] == "P0"
    runbook = out["runbook"]
    assert isinstance(runbook, dict) and runbook["section"] == "checkout-api-down"
    assert runbook["path"].endswith("checkout-api.md")
    assert out["escalation_policy"] == "platform"
    levels = out["levels"]
    assert isinstance(levels, list) and levels[0]["people"]
    first = levels[0]["people"][0]
    # contact kinds only: never the address itself
    assert first["channels"] and all("@" not in c for c in first["channels"])
    assert out["pages_now"] == [first["user"]]
    assert "alice@example.com" not in str(out)
    with make_engine(h.url).connect() as c:
        assert c.scalar(select(func.count()).select_from(Incident)) == 0


def test_an_override_and_a_silence_on_the_server_count(h: Harness) -> None:
    now = h.clock.now()
    before = _test(h, labels={"alertname": "X", "job": "checkout"})
    covered = before["pages_now"]
    assert isinstance(covered, list) and len(covered) == 1
    other = "bob" if covered == ["alice"] else "alice"
    r = h.client.post(
        "/api/v1/schedules/primary/overrides",
        json={
            "user": other,
            "start": (now - timedelta(hours=1)).isoformat(),
            "end": (now + timedelta(hours=1)).isoformat(),
        },
        headers=h.auth(),
    )
    assert r.status_code in (200, 201), r.text
    after = _test(h, labels={"alertname": "X", "job": "checkout", "severity": "P0"})
    assert after["pages_now"] == [other]
    r = h.client.post(
        "/api/v1/silences",
        json={
            "matchers": ['alertname="X"'],
            "ends_at": (now + timedelta(hours=1)).isoformat(),
            "comment": "deploy",
        },
        headers=h.auth(),
    )
    assert r.status_code in (200, 201), r.text
    quiet = _test(h, labels={"alertname": "X", "job": "checkout"})
    assert isinstance(quiet["quiet"], str) and quiet["quiet"].startswith("silence:")
    assert quiet["pages_now"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"labels": {}}, "labels"),
        ({"labels": {"bad name": "x"}}, "labels"),
        ({"labels": {"a": "x" * 2000}}, "labels"),
        ({"labels": {"a": "b"}, "tenant": "globex"}, "tenant"),
        ({"labels": {"a": "b"}, "at": "not a time"}, "at"),
    ],
)
def test_bad_requests_are_4xx_naming_the_field(
    h: Harness, body: dict[str, object], field: str
) -> None:
    r = h.client.post("/api/v1/routes/test", json=body, headers=h.auth(role="viewer"))
    assert r.status_code == 422, r.text
    assert field in r.text
    assert r.headers["content-type"].startswith("application/problem+json")


def test_needs_a_token(h: Harness) -> None:
    assert h.client.post("/api/v1/routes/test", json={"labels": {"a": "b"}}).status_code == 401


def test_cli_offline_from_the_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "opsbook.yaml"
    cfg.write_text(CONFIG)
    runner = CliRunner()
    ok = runner.invoke(
        cli,
        [
            "routes",
            "test",
            "alertname=CheckoutApiDown",
            "-l",
            "job=checkout,severity=critical",
            "--config",
            str(cfg),
            "--tenant",
            "acme",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "service    checkout-api" in ok.output
    assert "checkout-api.md#checkout-api-down" in ok.output
    assert "level 2 at +15m: lead" in ok.output
    assert "overrides and silences on the server are not seen" in ok.output
    nobody = runner.invoke(
        cli, ["routes", "test", "alertname=Y", "job=orphan", "-c", str(cfg), "--tenant", "acme"]
    )
    assert nobody.exit_code == 1
    assert "pages now  NOBODY" in nobody.output and "no escalation_policy" in nobody.output
    bad = runner.invoke(cli, ["routes", "test", "alertname", "-c", str(cfg)])
    assert bad.exit_code == 2 and "NAME=VALUE" in bad.output
