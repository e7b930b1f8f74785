"""Walk every route of the OpenAPI spec: no token → 401; tenant A's admin can read or change nothing of B's.

A route added later that this table does not classify makes the test fail, so tenancy is decided
for every route on purpose.
"""

from __future__ import annotations

from typing import Any

from tests.support.app import Harness, am_alert, am_body

PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")}
# the public status page (no login; its tenancy is proven in test_statuspage)
PUBLIC |= {
    ("GET", "/status/{tenant}"),
    ("GET", "/status/{tenant}.json"),
    ("GET", "/status/{tenant}/feed.atom"),
    ("POST", "/status/{tenant}/subscribe"),
    # the signed confirmation link is the credential; its tenancy: test_status_subscribe
    ("GET", "/status/{tenant}/confirm/{token}"),
    ("POST", "/status/{tenant}/confirm/{token}"),
}
INTAKE = {
    ("POST", "/api/v1/integrations/alertmanager"),
    ("POST", "/api/v2/alerts"),
    ("POST", "/api/v1/events"),
    ("POST", "/api/v1/integrations/grafana"),
    # a heartbeat's ping: an intake token of its tenant (test_heartbeats: another tenant's is 404)
    ("POST", "/api/v1/heartbeats/{name}/ping"),
    ("GET", "/api/v1/heartbeats/{name}/ping"),
    # Flagger's webhook: a rollout plan of the token's own tenant (test_rollout_engines)
    ("POST", "/api/v1/integrations/flagger"),
}
# the whole server: an operator token only (`opsbook tokens create --operator`), no tenant admin
OPERATOR_ONLY = {("POST", "/-/reload")}
# the signed token in the path is the credential (a link in a page); a bad one is refused with 400
LINKS = {
    ("GET", "/api/v1/links/{token}"),
    ("POST", "/api/v1/links/{token}"),
}
COLLECTIONS = {
    ("GET", "/api/v1/audit"),
    ("GET", "/api/v1/silences"),
    ("GET", "/api/v1/silences/preview"),
    ("GET", "/api/v1/maintenance"),
    ("GET", "/api/v1/status/components"),
    ("GET", "/api/v1/incidents"),
    ("GET", "/api/v1/tokens"),
    ("GET", "/api/v1/runbooks"),
    ("GET", "/api/v1/oncall"),
    ("GET", "/api/v1/action-items"),
    ("GET", "/api/v1/reports"),
    ("GET", "/api/v1/checks"),
    ("GET", "/api/v1/slos"),
    ("GET", "/api/v1/heartbeats"),
    ("GET", "/api/v2/alerts"),
    ("GET", "/api/v2/alerts/groups"),
    ("GET", "/api/v2/silences"),
    ("GET", "/api/v2/status"),
    ("GET", "/api/v2/receivers"),
    ("GET", "/api/v1/rollouts"),
    ("GET", "/api/v1/verifications"),
    ("GET", "/api/v1/inbox"),  # the token's own person's notifications
}
CREATES = {
    ("POST", "/api/v1/erasures"),  # B's person is nobody in A: 404, nothing of B changes
    ("POST", "/api/v1/silences"),
    ("POST", "/api/v1/maintenance"),
    ("POST", "/api/v1/incidents"),
    ("POST", "/api/v1/tokens"),
    ("POST", "/api/v2/silences"),  # Alertmanager answers a created silence with 200
    ("POST", "/api/v1/rollouts"),  # B's plan is not A's: 404
    ("POST", "/api/v1/verifications"),  # B's service is not A's: 404
    ("POST", "/api/v1/routes/test"),  # evaluated in A's own tenant, storing nothing
}

BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/silences"): {
        "matchers": ['service="ledger"'],
        "endsAt": "2026-01-01T14:00:00Z",
        "comment": "A silences",
    },
    ("POST", "/api/v2/silences"): {
        "matchers": [{"name": "service", "value": "ledger", "isRegex": False}],
        "startsAt": "2026-01-01T12:00:00Z",
        "endsAt": "2026-01-01T14:00:00Z",
        "createdBy": "a",
        "comment": "A silences",
    },
    ("POST", "/api/v1/maintenance"): {
        "name": "a-window",
        "services": ["checkout-api"],
        "start": "2026-01-01T13:00:00Z",
        "end": "2026-01-01T14:00:00Z",
    },
    ("PUT", "/api/v1/status/components/{component}"): {"state": "major_outage"},
    ("POST", "/api/v1/incidents/{incident_id}/status-updates"): {
        "status": "investigating",
        "title": "A writes on B",
        "body": "x",
    },
    ("POST", "/api/v1/incidents/{incident_id}/comment"): {"text": "from tenant A"},
    ("POST", "/api/v1/incidents/{incident_id}/close"): {"reason": "false_positive"},
    ("POST", "/api/v1/incidents/{incident_id}/resolve"): {"note": "x"},
    ("PATCH", "/api/v1/incidents/{incident_id}"): {"severity": "P3"},
    ("POST", "/api/v1/incidents"): {
        "service": "ledger",
        "severity": "P1",
        "title": "A declares on B's service",
    },
    ("POST", "/api/v1/tokens"): {"role": "viewer"},
    ("POST", "/api/v1/erasures"): {"person": "carmen"},
    ("POST", "/api/v1/rollouts"): {"service": "ledger", "version": "a-deploys-b"},
    ("POST", "/api/v1/verifications"): {"service": "ledger"},
    ("POST", "/api/v1/routes/test"): {"labels": {"alertname": "LedgerDown", "service": "ledger"}},
    ("POST", "/api/v1/integrations/argo/failed/{plan}"): {"version": "a-says-b-failed"},
    ("PUT", "/api/v1/incidents/{incident_id}/postmortem"): {"root_cause": "A writes B's"},
    ("POST", "/api/v1/incidents/{incident_id}/postmortem/action-items"): {"title": "A adds to B"},
    ("PATCH", "/api/v1/action-items/{item_id}"): {"status": "done"},
    ("POST", "/api/v1/incidents/{incident_id}/runs/{run_id}/approve"): {"shown_hash": "0" * 64},
    ("POST", "/api/v1/incidents/{incident_id}/runs/{run_id}/break-glass"): {
        "shown_hash": "0" * 64,
        "reason": "tenant A breaks B's glass",
    },
    ("POST", "/api/v1/schedules/{name}/overrides"): {
        "user": "alice",
        "start": "2026-01-01T00:00:00Z",
        "end": "2026-01-02T00:00:00Z",
    },
}


def _routes(h: Harness) -> list[tuple[str, str]]:
    spec = h.client.app.openapi()  # type: ignore[attr-defined]
    return [(m.upper(), path) for path, ops in spec["paths"].items() for m in ops]


def _b_objects(h: Harness) -> dict[str, str]:
    inc = h.post_am(
        am_body(am_alert("LedgerDown", service="ledger", severity="critical")), tenant="globex"
    )
    # a run request of B's (its own incident: the walk's has no runbook section), before B's silence
    lag = h.post_am(
        am_body(am_alert("LedgerReplicationLag", service="ledger", severity="warning")),
        tenant="globex",
    )["incidents"][0]
    run = h.client.post(
        f"/api/v1/incidents/{lag}/steps/4/run", headers=h.auth("globex", "responder")
    ).json()
    tokens = h.client.get("/api/v1/tokens", headers=h.auth("globex", "admin")).json()
    runbooks = h.client.get("/api/v1/runbooks", headers=h.auth("globex", "viewer")).json()
    override = h.client.post(
        "/api/v1/schedules/globex-primary/overrides",
        json={"user": "dave", "start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
        headers=h.auth("globex", "responder"),
    ).json()
    item = h.client.post(
        f"/api/v1/incidents/{inc['incidents'][0]}/postmortem/action-items",
        json={"title": "B's follow-up"},
        headers=h.auth("globex", "commander"),
    ).json()
    silence = h.client.post(
        "/api/v1/silences",
        json={"matchers": ['service="ledger"'], "endsAt": "2026-01-02T00:00:00Z", "comment": "B"},
        headers=h.auth("globex", "responder"),
    ).json()
    window = h.client.post(
        "/api/v1/maintenance",
        json={
            "name": "b-window",
            "services": ["ledger"],
            "start": "2026-01-02T00:00:00Z",
            "end": "2026-01-02T01:00:00Z",
        },
        headers=h.auth("globex", "commander"),
    ).json()
    rollout = h.client.post(
        "/api/v1/rollouts",
        json={"service": "ledger", "version": "v2"},
        headers=h.auth("globex", "responder"),
    ).json()
    assert runbooks, "tenant B needs a runbook of its own for the walk"
    return {
        "incident_id": inc["incidents"][0],
        "token_id": tokens[0]["id"],
        "runbook_id": runbooks[0]["id"],
        "step": "1",
        "item_id": item["id"],
        "token": "not-a-token",
        "name": "globex-primary",
        "silence_id": silence["id"],
        "window_id": window["id"],
        "component": "Ledger",
        "tenant": "globex",
        "override_id": override["id"],
        "run_id": run["id"],
        "rollout_id": rollout["id"],
        "service": "ledger",
        "plan": "ledger",
    }


def _fill(path: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, (
        f"the walk has no object for a parameter of {path}: add one to _b_objects"
    )
    return path


def test_every_route_denies_without_a_token(h: Harness) -> None:
    ids = _b_objects(h)
    for method, path in _routes(h):
        if (method, path) in PUBLIC or (method, path) in LINKS:
            continue
        r = h.client.request(method, _fill(path, ids), json=BODIES.get((method, path)))
        assert r.status_code == 401, f"{method} {path} answered {r.status_code} without a token"


def test_tenant_a_can_read_or_change_nothing_of_tenant_b(h: Harness) -> None:
    ids = _b_objects(h)
    before = h.client.get(
        f"/api/v1/incidents/{ids['incident_id']}", headers=h.auth("globex", "viewer")
    ).json()
    a_admin = h.auth("acme", "admin")
    unclassified = []
    for method, path in _routes(h):
        key = (method, path)
        url = _fill(path, ids)
        if key in PUBLIC:
            continue
        if key in OPERATOR_ONLY:
            assert h.client.request(method, url, headers=a_admin).status_code == 403
            continue
        if key in LINKS:
            assert h.client.request(method, url, headers=a_admin).status_code in (
                400,
                404,
            )  # refused; 404 = no key
            continue
        if key in INTAKE:
            # intake writes only into the token's own tenant (see test_intake), never with an API token
            assert h.client.request(method, url, json={}, headers=a_admin).status_code in (403, 422)
            continue
        r = h.client.request(method, url, json=BODIES.get(key), headers=a_admin)
        if key in COLLECTIONS:
            assert r.status_code == 200
            text = r.text
            assert not any(v in text for k, v in ids.items() if k.endswith("_id")), (
                f"{method} {path} leaks B"
            )
        elif key in CREATES:
            assert r.status_code in (200, 201, 404), f"{method} {path}: {r.status_code}"
            assert "globex" not in r.text
        elif "{" in path:
            assert r.status_code == 404, (
                f"{method} {path} with B's id answered {r.status_code}: {r.text}"
            )
        else:
            unclassified.append(key)
    assert not unclassified, f"routes the tenancy walk does not classify: {unclassified}"
    after = h.client.get(
        f"/api/v1/incidents/{ids['incident_id']}", headers=h.auth("globex", "viewer")
    ).json()
    assert after == before, "tenant B's incident changed"
    tokens = h.client.get("/api/v1/tokens", headers=h.auth("globex", "admin")).json()
    assert all(t["revoked_at"] is None for t in tokens), "tenant B's token was revoked by A"
