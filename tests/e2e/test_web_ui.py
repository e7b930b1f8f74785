"""The web UI in a real browser against a real ``opsbook serve`` with real Redis: an alert appears
on the incidents page without a reload; the engineer signs in, acknowledges, reads the
diagnostics' results and resolves. Screenshots at desktop and phone width are saved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import OpsbookServer
from tests.support.services import RedisServer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("web")]
RUNBOOK = Path(__file__).resolve().parents[1] / "support" / "runbooks" / "cache.md"
PASSWORD = "e2e-password-1"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WAIT = 30_000  # ms


def _config(redis_url: str) -> str:
    return f"""
tenants: [{{name: acme}}]
users: [{{name: alice, tenant: acme, role: commander}}]
services:
  - {{name: cache, tenant: acme, runbooks: ["{RUNBOOK}"], variables: {{REDIS_URL: "{redis_url}"}}}}
routes: [{{match: {{job: cache}}, service: cache}}]
"""


def _sign_in(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/ui/")
    page.wait_for_url("**/ui/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/ui/")


def _shoot(browser: Any, base: str, cookies: list[Any], path: str, out: Path, name: str) -> None:
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        ctx = browser.new_context(viewport=size)
        ctx.add_cookies(cookies)
        page = ctx.new_page()
        page.goto(f"{base}{path}")
        page.wait_for_load_state("networkidle", timeout=WAIT)
        page.screenshot(path=str(out / f"{name}-{label}.png"), full_page=True)
        ctx.close()


def test_alert_to_resolution_in_the_browser(
    browser: Any, redis_server: RedisServer, screenshots: Path
) -> None:
    with OpsbookServer(_config(redis_server.url_for(11))) as srv:
        srv.start()
        srv.cli(
            "users", "add", "alice", "--tenant", "acme", "--role", "commander",
            "--password-env", "WEB_PW", env={"WEB_PW": PASSWORD}, check=True,
        )  # fmt: skip
        intake = srv.create_token("acme", integration="alertmanager")
        ctx = browser.new_context(viewport=DESKTOP)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        _sign_in(page, srv.url, "alice")
        page.get_by_text("No incidents match").wait_for(timeout=WAIT)
        page.evaluate("window.__noReload = true")

        resp = httpx.post(
            f"{srv.url}/api/v1/integrations/alertmanager",
            json={
                "alerts": [
                    {"status": "firing", "labels": {"alertname": "CacheDown", "job": "cache"}}
                ]
            },
            headers={"Authorization": f"Bearer {intake}"},
            timeout=10,
        )
        assert resp.status_code == 200, resp.text
        row = page.locator("table.incidents tbody tr").first
        row.wait_for(timeout=WAIT)  # the 5 s HTMX poll brings it in
        assert page.evaluate("window.__noReload") is True, "the page reloaded"
        assert "CacheDown" in row.inner_text() and "triggered" in row.inner_text()
        page.locator("time.countdown").first.wait_for(timeout=WAIT)

        row.get_by_role("link").click()
        page.wait_for_url("**/ui/incidents/*")
        incident_path = page.url.removeprefix(srv.url)
        page.locator("#steps .result", has_text="PONG").first.wait_for(timeout=WAIT)
        assert "read-only" in page.locator("#steps").inner_text()
        assert "destructive" in page.locator("#steps").inner_text()

        page.get_by_role("button", name="Acknowledge").click()
        page.locator(".incident-head .state-acknowledged").wait_for(timeout=WAIT)
        page.locator("#timeline", has_text="acknowledged by alice").wait_for(timeout=WAIT)

        cookies = ctx.cookies()
        _shoot(browser, srv.url, cookies, "/ui/", screenshots, "incidents")
        _shoot(browser, srv.url, cookies, incident_path, screenshots, "incident")

        page.get_by_role("button", name="Resolve").click()
        page.locator(".incident-head .state-resolved").wait_for(timeout=WAIT)
        page.locator("#timeline", has_text="resolved by alice").wait_for(timeout=WAIT)
        assert not [e for e in errors if "Content Security Policy" in e], errors
        ctx.close()
