"""Config reload on a running ``opsbook serve``: SIGHUP and ``POST /-/reload``.

A valid edited file changes routing for alerts that arrive afterwards; an invalid one keeps the
running config (the server keeps serving and its log says which line is wrong). The reload
route takes an operator token only (`opsbook tokens create --operator`; no tenant's admin may
reload every tenant's config) and answers 422 problem+json for an invalid file;
`opsbook config reload` posts it with that token.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.app import am_alert, am_body
from tests.support.server import OpsbookServer, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-reload"), pytest.mark.timeout(120)]

CONFIG = """\
tenants:
  - {name: acme, default_service: acme-catchall}
services:
  - {name: checkout-api, tenant: acme}
  - {name: search-indexer, tenant: acme}
  - {name: acme-catchall, tenant: acme}
routes:
ROUTE
severity_map: {critical: P0, high: P1, warning: P2, info: P3}
"""
CONFIG_A = CONFIG.replace("ROUTE", "  - {match: {job: checkout}, service: checkout-api}")
CONFIG_B = CONFIG.replace("ROUTE", "  - {match: {job: checkout}, service: search-indexer}")
# valid YAML, invalid config: the route names a service that does not exist
CONFIG_BAD = CONFIG.replace("ROUTE", "  - {match: {job: checkout}, service: no-such-service}")
BAD_LINE = CONFIG.splitlines().index("ROUTE") + 1

_names = itertools.count()


@pytest.fixture(scope="module")
def srv() -> Iterator[OpsbookServer]:
    with OpsbookServer(CONFIG_A) as server:
        yield server


@pytest.fixture(scope="module")
def tokens(srv: OpsbookServer) -> dict[str, str]:
    made = srv.create_tokens({
        "intake": {"tenant": "acme", "integration": "alertmanager"},
        "viewer": {"tenant": "acme", "role": "viewer"},
        "commander": {"tenant": "acme", "role": "commander"},
        "admin": {"tenant": "acme", "role": "admin"},
    })  # fmt: skip
    out = srv.cli("tokens", "create", "--operator", check=True).stdout.splitlines()
    assert len(out) == 1, out  # alone on stdout, like every token
    return {**made, "operator": out[0]}


@pytest.fixture(autouse=True)
def config_a(srv: OpsbookServer, tokens: dict[str, str]) -> None:
    """Every test starts from CONFIG_A, loaded."""
    srv.write_config(CONFIG_A)
    r = srv.post("/-/reload", tokens["operator"])
    assert r.status_code == 200, r.text


def service_of_new_alert(srv: OpsbookServer, tokens: dict[str, str]) -> str:
    """Post a brand-new job=checkout alert and return the service its incident landed on."""
    name = f"ReloadProbe{next(_names)}"
    with srv.client(tokens["intake"]) as c:
        r = c.post(
            "/api/v1/integrations/alertmanager",
            json=am_body(am_alert(name, job="checkout", severity="warning")),
        )
    assert r.status_code == 200, r.text
    (incident_id,) = r.json()["incidents"]
    service: str = srv.incident(tokens["viewer"], incident_id)["service"]
    return service


def log_events(srv: OpsbookServer, event: str) -> list[dict[str, Any]]:
    out = []
    for line in srv.log_text().splitlines():
        if line.startswith("{") and f'"{event}"' in line:
            entry = json.loads(line)
            if entry.get("event") == event:
                out.append(entry)
    return out


def sighup_and_wait(srv: OpsbookServer, event: str) -> dict[str, Any]:
    """Send SIGHUP and return the log entry the reload produced (``config_reloaded`` or ``…_failed``)."""
    before = len(log_events(srv, event))
    srv.sighup()
    found = wait_until(
        lambda: log_events(srv, event)[before:],
        15,
        what=f"log event {event!r}",
        describe=srv.log_tail,
    )
    return found[0]


def test_sighup_with_a_valid_edit_reroutes_new_alerts(
    srv: OpsbookServer, tokens: dict[str, str]
) -> None:
    assert service_of_new_alert(srv, tokens) == "checkout-api"
    srv.write_config(CONFIG_B)
    sighup_and_wait(srv, "config_reloaded")
    assert service_of_new_alert(srv, tokens) == "search-indexer"
    assert srv.running


def test_sighup_with_an_invalid_file_keeps_the_old_config(
    srv: OpsbookServer, tokens: dict[str, str]
) -> None:
    srv.write_config(CONFIG_BAD)
    entry = sighup_and_wait(srv, "config_reload_failed")
    reason = entry["reason"]
    assert f"{srv.config_path}:{BAD_LINE}:" in reason, reason
    assert "routes[0].service" in reason and "no-such-service" in reason, reason
    assert srv.running
    assert srv.get("/healthz").status_code == 200
    assert srv.get("/readyz").status_code == 200
    assert service_of_new_alert(srv, tokens) == "checkout-api"  # still CONFIG_A


def test_reload_route_applies_a_valid_file(srv: OpsbookServer, tokens: dict[str, str]) -> None:
    srv.write_config(CONFIG_B)
    r = srv.post("/-/reload", tokens["operator"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "reloaded"
    assert service_of_new_alert(srv, tokens) == "search-indexer"


def test_cli_config_reload_with_the_operator_token(
    srv: OpsbookServer, tokens: dict[str, str]
) -> None:
    srv.write_config(CONFIG_B)
    proc = srv.cli("config", "reload", env={"OPSBOOK_OPERATOR_TOKEN": tokens["operator"]})
    assert proc.returncode == 0, proc.stderr
    assert f"reloaded {srv.config_path}" in proc.stdout
    assert service_of_new_alert(srv, tokens) == "search-indexer"
    refused = srv.cli("config", "reload", "--token", tokens["admin"])
    assert refused.returncode == 1 and "403" in refused.stderr and "--operator" in refused.stderr


def test_reload_route_refuses_an_invalid_file_with_problem_json(
    srv: OpsbookServer, tokens: dict[str, str]
) -> None:
    srv.write_config(CONFIG_BAD)
    r = srv.post("/-/reload", tokens["operator"])
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == 422 and body["title"]
    assert f"{srv.config_path}:{BAD_LINE}:" in body["detail"]
    assert "kept the previous configuration" in body["detail"]
    assert service_of_new_alert(srv, tokens) == "checkout-api"


@pytest.mark.parametrize("who", ["admin", "commander", "viewer", "intake", None])
def test_reload_route_is_operator_only(
    srv: OpsbookServer, tokens: dict[str, str], who: str | None
) -> None:
    srv.write_config(CONFIG_B)
    r = srv.post("/-/reload", tokens[who] if who else None)
    assert r.status_code == (401 if who is None else 403), r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if who is not None:
        assert "operator token" in r.json()["detail"], r.json()
    assert service_of_new_alert(srv, tokens) == "checkout-api"  # nothing was reloaded
