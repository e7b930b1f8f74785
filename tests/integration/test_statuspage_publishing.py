"""Publishing is a person's act: a raw, unacknowledged P0 alert with no public message leaves the
public page green; a commander's update (or a set component state) turns it; a component opted
in with ``auto_publish`` follows incidents of its least severity by itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.app import TEST_CONFIG, Harness, am_alert, am_body, running_app

CONFIG = TEST_CONFIG.replace(
    "{name: checkout-api, tenant: acme,",
    "{name: checkout-api, tenant: acme, components: [API, Web],",
).replace(
    "{name: search-indexer, tenant: acme}",
    "{name: search-indexer, tenant: acme, components: [Search], auto_publish: {Search: P1}}",
)


@pytest.fixture
def hs(db_url: str) -> Iterator[Harness]:
    with running_app(db_url, CONFIG) as harness:
        yield harness


def _states(h: Harness) -> tuple[dict[str, str], dict[str, Any]]:
    j = h.client.get("/status/acme.json").json()
    return {c["name"]: c["status"] for c in j["components"]}, j["status"]


def test_raw_alert_does_not_turn_the_page_red(hs: Harness) -> None:
    h = hs
    inc = h.post_am(am_body(am_alert("CheckoutDown", job="checkout", severity="critical")))
    inc_id = inc["incidents"][0]
    assert h.incident(inc_id)["severity"] == "P0"
    states, status = _states(h)
    assert states == {"API": "operational", "Web": "operational", "Search": "operational"}
    assert status["description"] == "All Systems Operational"
    assert "Major System Outage" not in h.client.get("/status/acme").text

    # a commander publishes: the components named turn, at the impact announced
    body = {"status": "investigating", "title": "Checkout is down", "body": "We are on it."}
    body |= {"components": ["API"], "impact": "partial_outage"}
    r = h.client.post(f"/api/v1/incidents/{inc_id}/status-updates", json=body, headers=h.auth())
    assert r.status_code == 201, r.text
    states, status = _states(h)
    assert states["API"] == "partial_outage" and states["Web"] == "operational"
    assert status["description"] == "Partial System Outage"

    # a resolving update gives the component back even while the incident is still open
    done = {"status": "resolved", "title": "Checkout is back", "body": "Fixed."}
    r = h.client.post(f"/api/v1/incidents/{inc_id}/status-updates", json=done, headers=h.auth())
    assert r.status_code == 201, r.text
    assert _states(h)[0]["API"] == "operational"


def test_opted_in_component_follows_its_least_severity(hs: Harness) -> None:
    h = hs
    p2 = h.post_am(am_body(am_alert("IndexerSlow", severity="warning")))
    assert h.incident(p2["incidents"][0])["severity"] == "P2"
    assert _states(h)[0]["Search"] == "operational"  # below the opted-in P1
    h.post_am(am_body(am_alert("IndexerDown", severity="high")))
    states, status = _states(h)
    assert states == {"API": "operational", "Web": "operational", "Search": "partial_outage"}
    assert status["description"] == "Partial System Outage"


def test_auto_publish_names_only_own_components() -> None:
    from opsbook.config.load import parse_config

    bad = CONFIG.replace("auto_publish: {Search: P1}", "auto_publish: {Serch: P1}")
    with pytest.raises(Exception, match="Serch"):
        parse_config(bad)
