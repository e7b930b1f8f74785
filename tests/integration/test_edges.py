"""Hostile and broken input gets a clear 4xx problem; operations routes tell the truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsbook.api.middleware import json_depth
from tests.support.app import Harness, am_alert, am_body, running_app

AM = "/api/v1/integrations/alertmanager"


def _raw(h: Harness, body: bytes, ctype: str = "application/json") -> object:
    return h.client.post(AM, content=body, headers={**h.intake(), "content-type": ctype})


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"{not json", 422, "body"),
        (b"", 422, "body"),
        (b"[]", 422, "body"),
        (b'{"alerts": "many"}', 422, "alerts"),
        (b'{"alerts": [{"status": "firing"}]}', 422, "alerts.0.labels"),
        (b'{"alerts": [{"status": "weird", "labels": {}}]}', 422, "alerts.0.status"),
        (
            b'{"alerts": [{"status": "firing", "labels": {"a": "b"}, "startsAt": "yesterday"}]}',
            422,
            "alerts.0.startsAt",
        ),
        (b"[" * 5000 + b"]" * 5000, 400, "body"),
        (b'{"alerts": ' + b"[" * 100 + b"]" * 100 + b"}", 400, "body"),
    ],
)
def test_malformed_bodies_are_4xx_problems_naming_the_field(
    h: Harness, body: bytes, status: int, field: str
) -> None:
    r = _raw(h, body)
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    assert r.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    assert r.json()["field"] == field  # type: ignore[attr-defined]
    assert h.incidents() == []


def test_bodies_over_one_mebibyte_get_413(h: Harness) -> None:
    big = json.dumps(am_body(am_alert("X", pad="x" * 1_100_000))).encode()
    r = _raw(h, big)
    assert r.status_code == 413 and r.json()["title"] == "payload too large"  # type: ignore[attr-defined]


def test_too_many_labels_or_huge_values_are_refused(h: Harness) -> None:
    labels = {f"l{i}": "v" for i in range(200)}
    r = h.client.post(AM, json=am_body(am_alert("X", **labels)), headers=h.intake())
    assert r.status_code == 422 and r.json()["field"] == "alerts.0.labels"


def test_json_depth_ignores_brackets_inside_strings() -> None:
    assert json_depth(b'{"a": "[[[[[[[[[[[[", "b": [1, {"c": "\\"]"}]}') == 3
    assert json_depth(b"[" * 70) == 70


def test_healthz_and_readyz(h: Harness) -> None:
    assert h.client.get("/healthz").json() == {"status": "ok"}
    assert h.client.get("/readyz").json()["status"] == "ready"


def test_readyz_and_intake_are_503_when_the_database_is_unreachable(h: Harness) -> None:
    from opsbook.storage.db import make_engine, make_sessionmaker

    st = h.client.app.state.opsbook  # type: ignore[attr-defined]
    st.engine = make_engine("sqlite:////nonexistent-dir/opsbook.db")
    r = h.client.get("/readyz")
    assert r.status_code == 503 and int(r.headers["retry-after"]) > 0
    st.committer._sessions = make_sessionmaker(st.engine)
    r = h.client.post(AM, json=am_body(am_alert("X")), headers=h.intake())
    assert r.status_code == 503 and int(r.headers["retry-after"]) > 0
    assert r.json()["title"] == "storage unavailable"


def test_metrics_count_alerts_incidents_and_latency(h: Harness) -> None:
    h.post_am(am_body(am_alert("CheckoutDown", job="checkout", severity="critical")))
    h.post_am(am_body(am_alert("CheckoutDown", job="checkout", severity="critical")))
    text = h.client.get("/metrics").text
    assert 'opsbook_alerts_received_total{outcome="opened",source="alertmanager"} 1.0' in text
    assert 'opsbook_alerts_received_total{outcome="deduplicated",source="alertmanager"} 1.0' in text
    assert 'opsbook_incidents_opened_total{severity="P0"} 1.0' in text
    assert 'opsbook_open_incidents{service="checkout-api",severity="P0",tenant="acme"} 1.0' in text
    assert 'opsbook_intake_latency_seconds_count{source="alertmanager"} 2.0' in text


def test_metrics_token_is_required_when_configured(tmp_path: Path) -> None:
    with running_app(f"sqlite:///{tmp_path}/m.db", metrics_token="s3cret-scrape") as h:
        assert h.client.get("/metrics").status_code == 401
        assert (
            h.client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"}).status_code
            == 200
        )


def test_reload_keeps_old_config_when_new_one_is_invalid(tmp_path: Path) -> None:
    from tests.support.app import TEST_CONFIG

    cfg = tmp_path / "opsbook.yaml"
    cfg.write_text(TEST_CONFIG)
    with running_app(f"sqlite:///{tmp_path}/r.db") as h:
        st = h.client.app.state.opsbook  # type: ignore[attr-defined]
        st.config_path = cfg
        cfg.write_text(TEST_CONFIG.replace("{name: globex}", "{name: globex}\n  - {name: initech}"))
        r = h.client.post("/-/reload", headers=h.operator())
        assert r.status_code == 200 and st.config.tenant("initech") is not None
        cfg.write_text("tenants: [{name: x}]\nservices: [{name: s, tenant: nope}]\n")
        r = h.client.post("/-/reload", headers=h.operator())
        assert r.status_code == 422
        assert (
            "kept the previous configuration" in r.json()["detail"]
            and ":2: services[0].tenant" in r.json()["detail"]
        )
        assert st.config.tenant("initech") is not None
        for role in ("commander", "admin"):  # a tenant's admin may not reload every tenant's config
            assert h.client.post("/-/reload", headers=h.auth("acme", role)).status_code == 403


def test_request_id_is_echoed(h: Harness) -> None:
    r = h.client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    assert len(h.client.get("/healthz").headers["x-request-id"]) == 32
