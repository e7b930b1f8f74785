"""An in-process opsbook for API tests: migrated database, frozen clock, tokens per tenant and role."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from opsbook.api.app import create_app
from opsbook.config.load import parse_config
from opsbook.config.models import Config
from opsbook.core.settings import Settings
from opsbook.flows.tokens import create_operator_token, create_token
from opsbook.storage import migrate
from opsbook.storage.db import make_engine, make_sessionmaker
from opsbook.testing import FrozenClock

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

TEST_CONFIG = """
tenants:
  - {name: acme, default_service: acme-catchall}
  - {name: globex}
services:
  - {name: checkout-api, tenant: acme, runbooks: ["@EXAMPLES@/runbooks/checkout-api.md"]}
  - {name: search-indexer, tenant: acme}
  - {name: acme-catchall, tenant: acme}
  - {name: ledger, tenant: globex, runbooks: ["@EXAMPLES@/runbooks/ledger.md"]}
routes:
  - {match: {job: checkout}, service: checkout-api}
  - {match_re: {alertname: "Indexer.*"}, service: search-indexer, group_by: [alertname, queue]}
  - matchers: ['service=~"ledger|ledger-replica"']
    service: ledger
    severity_map: {warning: P1}
    auto_resolve: false
severity_map: {critical: P0, high: P1, warning: P2, info: P3}
severities: {P0: {ack_within: 5m}, P1: {ack_within: 15m}, P2: {ack_within: 1h}, P3: {ack_within: 4h}}
users:
  - {name: alice, tenant: acme, role: commander}
  - {name: bob, tenant: acme, role: responder}
  - {name: carmen, tenant: globex, role: commander}
  - {name: dave, tenant: globex, role: responder}
schedules:
  - name: acme-primary
    tenant: acme
    rotation: {every: 1w, handoff: "Mon 09:00", participants: [alice, bob]}
  - name: globex-primary
    tenant: globex
    timezone: Europe/Berlin
    rotation: {every: 1d, handoff: "09:00", participants: [carmen, dave]}
rollouts:  # never started by most tests; the tenancy walk starts one of globex's
  - name: ledger
    service: ledger
    prometheus: "http://127.0.0.1:9"
    steps: [{weight: 10, pause: 1h}, {weight: 100}]
    gates: [{name: errors, query: 'errors{server="{{canary}}"}', max: 0.01}]
    actuator: {haproxy: {address: "127.0.0.1:9", backend: ledger, stable: v1, canary: v2}}
""".replace("@EXAMPLES@", str(EXAMPLES))

ROLES = ("viewer", "responder", "commander", "admin")


@dataclass
class Harness:
    client: TestClient
    clock: FrozenClock
    config: Config
    url: str
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def auth(self, tenant: str = "acme", role: str = "commander") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[(tenant, role)]}"}

    def operator(self) -> dict[str, str]:
        """The server operator's token (``opsbook tokens create --operator``): reloads config."""
        return {"Authorization": f"Bearer {self.tokens[('*', 'operator')]}"}

    def intake(self, tenant: str = "acme") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[(tenant, 'intake')]}"}

    def post_am(self, body: dict[str, Any], tenant: str = "acme") -> Any:
        r = self.client.post(
            "/api/v1/integrations/alertmanager", json=body, headers=self.intake(tenant)
        )
        assert r.status_code == 200, r.text
        return r.json()

    def incidents(self, tenant: str = "acme", **params: Any) -> list[dict[str, Any]]:
        r = self.client.get("/api/v1/incidents", params=params, headers=self.auth(tenant, "viewer"))
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    def incident(self, incident_id: str, tenant: str = "acme") -> dict[str, Any]:
        r = self.client.get(f"/api/v1/incidents/{incident_id}", headers=self.auth(tenant, "viewer"))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


def migrated(url: str) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()


@contextmanager
def running_app(url: str, config_text: str = TEST_CONFIG, **settings: Any) -> Iterator[Harness]:
    """Yield a Harness around a fresh app on ``url`` with viewer…admin and intake tokens for every
    tenant, and an operator token."""
    migrated(url)
    config = parse_config(config_text)
    clock = FrozenClock()
    engine = make_engine(url)
    tokens: dict[tuple[str, str], str] = {}
    with make_sessionmaker(engine).begin() as s:
        for t in config.tenants:
            for role in ROLES:
                _, secret = create_token(
                    s, config, clock.now(), tenant=t.name, role=role, name=f"{t.name}-{role}"
                )
                tokens[(t.name, role)] = secret
            _, secret = create_token(
                s, config, clock.now(), tenant=t.name, integration="alertmanager"
            )
            tokens[(t.name, "intake")] = secret
        tokens[("*", "operator")] = create_operator_token(s, clock.now())[1]
    engine.dispose()
    app = create_app(Settings(database_url=url, **settings), config, clock=clock)
    with TestClient(app) as client:
        yield Harness(client=client, clock=clock, config=config, url=url, tokens=tokens)


def am_alert(name: str, status: str = "firing", **labels: str) -> dict[str, Any]:
    """One alert as Alertmanager's webhook writes it."""
    all_labels = {"alertname": name, **labels}
    return {
        "status": status,
        "labels": all_labels,
        "annotations": {"summary": f"{name} summary"},
        "startsAt": "2026-01-01T11:59:00Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-01-01T12:10:00Z",
        "generatorURL": "http://prometheus.local/graph",
    }


def am_body(*alerts: dict[str, Any], truncated: int = 0) -> dict[str, Any]:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {
        "version": "4",
        "status": status,
        "receiver": "opsbook",
        "groupKey": "{}:{}",
        "truncatedAlerts": truncated,
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://am.local",
        "alerts": list(alerts),
    }


def confirmation_link(h: Harness, email: str, tenant: str = "acme") -> str:
    """The path of the live confirmation link the server queued for ``email`` (as mailed)."""
    import re

    from sqlalchemy import select

    from opsbook.storage.rate_limits import key_of
    from opsbook.storage.tables_comms import StatusNoticeRow, SubscriberRow

    engine = make_engine(h.url)
    try:
        with make_sessionmaker(engine)() as s:
            sub = s.scalars(
                select(SubscriberRow).where(
                    SubscriberRow.tenant == tenant, SubscriberRow.email == email
                )
            ).one()
            assert sub.confirm_nonce, f"{email} has no live confirmation link"
            notice = s.get(StatusNoticeRow, key_of("confirm", sub.confirm_nonce))
            assert notice is not None
            found = re.search(r"https?://[^/\s]+(/status/\S+/confirm/[\w.-]+)", notice.body)
            assert found, notice.body
            return found.group(1)
    finally:
        engine.dispose()


def confirmed_subscriber(h: Harness, email: str, tenant: str = "acme") -> None:
    """Subscribe ``email`` on the public page and follow its confirmation link (double opt-in)."""
    r = h.client.post(f"/status/{tenant}/subscribe", json={"email": email})
    assert r.status_code == 202, r.text
    r = h.client.post(confirmation_link(h, email, tenant))
    assert r.status_code == 200, r.text
