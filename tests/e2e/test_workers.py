"""`serve --workers 2`: both processes take intake; a reload restarts them, an invalid config keeps them."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.server import OpsbookServer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("workers")]


def test_two_processes_serve_and_reload_safely() -> None:
    with OpsbookServer(env={"OPSBOOK_WORKERS": "2"}) as srv:
        srv.start()
        intake = srv.create_token("acme", integration="alertmanager")
        operator = srv.cli("tokens", "create", "--operator", check=True).stdout.strip()
        viewer = srv.create_token("acme", role="viewer")
        hdr = {"Authorization": f"Bearer {intake}"}
        for i in range(40):  # spread over both processes; every one is committed exactly once
            body = {
                "alerts": [
                    {"status": "firing", "labels": {"alertname": f"W{i}", "job": "checkout"}}
                ]
            }
            assert (
                httpx.post(
                    f"{srv.url}/api/v1/integrations/alertmanager", json=body, headers=hdr
                ).status_code
                == 200
            )
        ok = httpx.post(f"{srv.url}/-/reload", headers={"Authorization": f"Bearer {operator}"})
        assert ok.status_code == 200 and "restarting 2" in ok.json()["detail"]
        srv.write_config("tenants: [{name: acme}]\nservices: [{name: s, tenant: nope}]\n")
        bad = httpx.post(f"{srv.url}/-/reload", headers={"Authorization": f"Bearer {operator}"})
        assert bad.status_code == 422 and "services[0].tenant" in bad.json()["detail"]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{srv.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        page = httpx.get(
            f"{srv.url}/api/v1/incidents",
            params={"limit": 100},
            headers={"Authorization": f"Bearer {viewer}"},
        ).json()
        assert page["total"] == 40
