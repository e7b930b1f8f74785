"""Silences and maintenance windows over HTTP: create, guardrails, preview, expire, tenancy, CLI,
and the intake hook — a silenced alert is stored, opens no incident and pages nobody; after
expiry the same alert opens one.

The intake hook is wired here with :func:`wire_quiet_hook`, which applies exactly the lines the
report asks for in ``flows/ingest.py``; once they are in, the fixture becomes a no-op.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from opsbook.flows import ingest
from opsbook.flows.silences import Quiet
from opsbook.intake.models import AlertIn
from opsbook.intake.routing import decide
from opsbook.storage.db import make_engine, make_sessionmaker
from opsbook.storage.tables import Escalation, Job
from opsbook.storage.tables_comms import SilencedAlert
from tests.support.app import TEST_CONFIG, Harness, am_alert, am_body, running_app

CONFIG = (
    TEST_CONFIG.replace(
        "{name: checkout-api, tenant: acme,",
        "{name: checkout-api, tenant: acme, components: [API], escalation_policy: acme-default,",
    )
    + """
escalation_policies:
  - {name: acme-default, tenant: acme, steps: [{notify: {schedule: acme-primary}}]}
maintenance:
  - {name: weekly-index, tenant: acme, services: [search-indexer], cron: "0 2 * * 0",
     duration: 2h, timezone: Europe/Berlin}
"""
)


@pytest.fixture
def wire_quiet_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ingest hook of the report, applied to ``_Work`` (no-op once ingest.py has it)."""
    if "quiet" in ingest._Work.__init__.__code__.co_names:
        return
    init, trigger = ingest._Work.__init__, ingest._Work.trigger

    def new_init(
        self: Any, s: Any, config: Any, tenant: str, alerts: Any, now: Any, finder: Any = None
    ) -> None:
        init(self, s, config, tenant, alerts, now, finder)
        self.quiet = Quiet.load(s, config, tenant, now)

    def new_trigger(self: Any, alert: AlertIn, res: ingest.IngestResult) -> None:
        if self.current.get(alert.fingerprint) is None:
            d = self.decisions.get(alert.fingerprint) or decide(self.config, self.tenant, alert)
            reason = self.quiet.check(alert.labels, d.service)
            if reason is not None:
                self.quiet.record(alert, d.service, reason)
                res.record("silenced", None)
                return
        trigger(self, alert, res)

    monkeypatch.setattr(ingest._Work, "__init__", new_init)
    monkeypatch.setattr(ingest._Work, "trigger", new_trigger)


@pytest.fixture
def hq(db_url: str, wire_quiet_hook: None) -> Iterator[Harness]:
    with running_app(db_url, CONFIG) as harness:
        yield harness


def _iso(h: Harness, **delta: float) -> str:
    return (h.clock.now() + timedelta(**delta)).isoformat()


def _silence(
    h: Harness, matchers: list[str], role: str = "responder", tenant: str = "acme", **extra: Any
) -> Any:
    body = {"matchers": matchers, "endsAt": _iso(h, hours=2), "comment": "deploy", **extra}
    return h.client.post("/api/v1/silences", json=body, headers=h.auth(tenant, role))


def _silenced_rows(h: Harness) -> list[SilencedAlert]:
    engine = make_engine(h.url)
    try:
        with make_sessionmaker(engine)() as s:
            return list(s.scalars(select(SilencedAlert)))
    finally:
        engine.dispose()


def _paging(h: Harness) -> tuple[int, int]:
    engine = make_engine(h.url)
    try:
        with make_sessionmaker(engine)() as s:
            jobs = s.scalars(select(Job).where(Job.kind != "retention.purge")).all()  # hourly
            return len(s.scalars(select(Escalation)).all()), len(jobs)
    finally:
        engine.dispose()


def test_silenced_alert_is_stored_opens_nothing_and_fires_after_expiry(hq: Harness) -> None:
    h = hq
    r = _silence(h, ['job="checkout"', 'env=~"prod|stage"'])
    assert r.status_code == 201, r.text
    sil = r.json()
    assert sil["status"]["state"] == "active" and sil["createdBy"] == "acme-responder"

    out = h.post_am(
        am_body(am_alert("CheckoutDown", job="checkout", env="prod", severity="critical"))
    )
    assert out["outcomes"] == {"silenced": 1} and out["incidents"] == []
    assert h.incidents() == []
    assert _paging(h) == (0, 0), "a silenced alert must page nobody"
    rows = _silenced_rows(h)
    assert [(r.alertname, r.silenced_by) for r in rows] == [
        ("CheckoutDown", f"silence:{sil['id']}")
    ]

    # not matched: env=dev is outside the regex
    other = h.post_am(
        am_body(am_alert("CheckoutDevDown", job="checkout", env="dev", severity="critical"))
    )
    assert other["outcomes"] == {"opened": 1}

    h.clock.advance(minutes=30)
    again = h.post_am(
        am_body(am_alert("CheckoutDown", job="checkout", env="prod", severity="critical"))
    )
    assert again["outcomes"] == {"silenced": 1}
    assert _silenced_rows(h)[0].receive_count == 2

    r = h.client.delete(f"/api/v1/silences/{sil['id']}", headers=h.auth("acme", "responder"))
    assert r.status_code == 200 and r.json()["status"]["state"] == "expired"
    assert r.json()["expiredBy"] == "acme-responder"
    assert h.client.delete(f"/api/v1/silences/{sil['id']}", headers=h.auth()).status_code == 409

    after = h.post_am(
        am_body(am_alert("CheckoutDown", job="checkout", env="prod", severity="critical"))
    )
    assert after["outcomes"] == {"opened": 1}, "after expiry the alert opens an incident"
    assert _paging(h)[0] == 2, "the unsilenced incidents page (escalation started)"


def test_silence_ends_by_itself(hq: Harness) -> None:
    h = hq
    body = {"matchers": ['job="checkout"'], "endsAt": _iso(h, minutes=10), "comment": "x"}
    assert h.client.post("/api/v1/silences", json=body, headers=h.auth()).status_code == 201
    assert h.post_am(am_body(am_alert("A", job="checkout")))["outcomes"] == {"silenced": 1}
    h.clock.advance(minutes=10)
    assert h.post_am(am_body(am_alert("A", job="checkout")))["outcomes"] == {"opened": 1}
    states = [
        s["status"]["state"] for s in h.client.get("/api/v1/silences", headers=h.auth()).json()
    ]
    assert states == ["expired"]


def test_pending_silence_does_not_mute_yet(hq: Harness) -> None:
    h = hq
    r = _silence(h, ['job="checkout"'], startsAt=_iso(h, minutes=5))
    assert r.json()["status"]["state"] == "pending"
    assert h.post_am(am_body(am_alert("A", job="checkout")))["outcomes"] == {"opened": 1}


def test_guardrails_over_http(hq: Harness) -> None:
    h = hq
    too_long = _silence(h, ['job="checkout"'], endsAt=_iso(h, days=8))
    assert too_long.status_code == 422 and too_long.json()["field"] == "endsAt"
    regex_only = _silence(h, ['job=~".*"'])
    assert regex_only.status_code == 422 and "equality" in regex_only.json()["detail"]
    assert _silence(h, ['job=~".*"'], role="commander", force=True).status_code == 403
    forced = _silence(h, ['job=~".*"'], role="admin", force=True, endsAt=_iso(h, days=30))
    assert forced.status_code == 201 and forced.json()["forced"] is True
    assert _silence(h, ["not a matcher"]).status_code == 422
    assert _silence(h, [], role="admin", force=True).status_code == 422
    assert _silence(h, ['job="x"'], role="viewer").status_code == 403


def test_preview_lists_the_alerts_a_silence_would_match(hq: Harness) -> None:
    h = hq
    h.post_am(am_body(am_alert("CheckoutDown", job="checkout", env="prod")))
    h.post_am(am_body(am_alert("CheckoutSlow", job="checkout", env="dev")))
    h.post_am(am_body(am_alert("LedgerDown", service="ledger")), tenant="globex")
    r = h.client.get(
        "/api/v1/silences/preview",
        params={"matchers": ['job="checkout"', 'env!="dev"']},
        headers=h.auth(),
    )
    assert r.status_code == 200, r.text
    assert [a["alertname"] for a in r.json()["alerts"]] == ["CheckoutDown"]
    everything = h.client.get("/api/v1/silences/preview", headers=h.auth()).json()["alerts"]
    assert {a["alertname"] for a in everything} == {"CheckoutDown", "CheckoutSlow"}  # not globex's
    bad = h.client.get(
        "/api/v1/silences/preview", params={"matchers": ["job=~("]}, headers=h.auth()
    )
    assert bad.status_code == 422


def test_silences_are_tenant_scoped(hq: Harness) -> None:
    h = hq
    b = _silence(h, ['service="ledger"'], tenant="globex").json()
    assert h.client.get("/api/v1/silences", headers=h.auth("acme", "admin")).json() == []
    assert (
        h.client.delete(f"/api/v1/silences/{b['id']}", headers=h.auth("acme", "admin")).status_code
        == 404
    )
    # acme's silence on the same labels does not mute globex's alert
    _silence(h, ['service="ledger"'])
    assert h.post_am(am_body(am_alert("LedgerDown", service="ledger")), tenant="globex")[
        "outcomes"
    ] == {"silenced": 1}
    h.client.delete(f"/api/v1/silences/{b['id']}", headers=h.auth("globex", "responder"))
    assert h.post_am(am_body(am_alert("LedgerDown2", service="ledger")), tenant="globex")[
        "outcomes"
    ] == {"opened": 1}


def test_recurring_config_window_silences_its_service(hq: Harness) -> None:
    h = hq
    from datetime import UTC, datetime

    h.clock.set(datetime(2026, 3, 29, 0, 30, tzinfo=UTC))  # Sunday 01:30 CET: before the window
    assert h.post_am(am_body(am_alert("IndexerLag", queue="a")))["outcomes"] == {"opened": 1}
    h.clock.set(
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    )  # 03:00 CEST, the first instant after 02:00
    assert h.post_am(am_body(am_alert("IndexerStuck", queue="b")))["outcomes"] == {"silenced": 1}
    assert h.post_am(am_body(am_alert("CheckoutDown", job="checkout")))["outcomes"] == {"opened": 1}
    h.clock.set(datetime(2026, 3, 29, 3, 0, tzinfo=UTC))  # two real hours later
    assert h.post_am(am_body(am_alert("IndexerStuck", queue="c")))["outcomes"] == {"opened": 1}
    windows = h.client.get("/api/v1/maintenance", headers=h.auth("acme", "viewer")).json()
    assert [(w["name"], w["source"], w["cron"]) for w in windows] == [
        ("weekly-index", "config", "0 2 * * 0")
    ]


def test_api_window_silences_and_can_be_deleted(hq: Harness) -> None:
    h = hq
    body = {
        "name": "db move",
        "components": ["API"],
        "start": _iso(h, minutes=-1),
        "end": _iso(h, hours=1),
    }
    r = h.client.post("/api/v1/maintenance", json=body, headers=h.auth("acme", "commander"))
    assert r.status_code == 201, r.text
    assert r.json()["active"] is True
    assert h.post_am(am_body(am_alert("CheckoutDown", job="checkout")))["outcomes"] == {
        "silenced": 1
    }
    assert (
        h.client.post(
            "/api/v1/maintenance", json=body, headers=h.auth("acme", "responder")
        ).status_code
        == 403
    )
    bad = {**body, "components": ["Ledger API"]}
    assert h.client.post("/api/v1/maintenance", json=bad, headers=h.auth()).status_code == 422
    assert (
        h.client.delete(
            f"/api/v1/maintenance/{r.json()['id']}", headers=h.auth("globex", "admin")
        ).status_code
        == 404
    )
    assert (
        h.client.delete(f"/api/v1/maintenance/{r.json()['id']}", headers=h.auth()).status_code
        == 204
    )
    assert h.post_am(am_body(am_alert("CheckoutDown2", job="checkout")))["outcomes"] == {
        "opened": 1
    }
