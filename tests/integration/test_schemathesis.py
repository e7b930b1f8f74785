"""schemathesis generates requests from the OpenAPI spec (valid and invalid); none may get a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.support.app import Harness, am_alert, am_body, running_app

_STATE: dict[str, Harness] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    db = tmp_path_factory.mktemp("schemathesis") / "opsbook.db"
    with running_app(f"sqlite:///{db}") as h:
        h.post_am(am_body(am_alert("CheckoutDown", job="checkout", severity="critical")))
        _STATE["h"] = h
        yield schemathesis.openapi.from_asgi("/openapi.json", h.client.app)
        _STATE.clear()


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case: Any) -> None:
    h = _STATE["h"]
    intake = case.method.upper() == "POST" and case.path.startswith(
        ("/api/v1/integrations", "/api/v2/alerts", "/api/v1/events")
    )
    headers = h.intake() if intake else h.auth("acme", "admin")
    if case.path == "/-/reload":
        return  # reload re-reads a file this app was not started with; covered in test_edges
    response = case.call(headers=headers)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:300]}"
    )
    if response.status_code >= 400:
        # Alertmanager's API v2 answers errors as JSON strings (amtool reads nothing else)
        wanted = (
            "application/json" if case.path.startswith("/api/v2/") else "application/problem+json"
        )
        assert response.headers["content-type"][0].startswith(wanted), response.text[:200]
