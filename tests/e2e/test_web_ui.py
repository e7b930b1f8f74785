"""The web UI in a real browser against a real ``opsbook serve`` with real Redis: an alert appears
on the incidents page without a reload; the engineer signs in, acknowledges, reads the
diagnostics' results and resolves. Then the whole incident: a responder requests a destructive
mitigation and a commander approves it with the typed confirmation, resolves, publishes a status
update that the public page shows, and writes the post-mortem; a viewer sees no action buttons
and a forged form post is refused. Screenshots of every page at desktop and phone width are
saved under test-artifacts/screenshots/."""

from __future__ import annotations

import re
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


def _config(redis_url: str, users: str = "[{name: alice, tenant: acme, role: commander}]") -> str:
    return f"""
tenants: [{{name: acme}}]
users: {users}
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


TEAM = (("alice", "commander"), ("bob", "responder"), ("vera", "viewer"))
OPTIONAL_PAGES = ("runbooks", "oncall", "silences", "reports")  # other people's pages, if present


def _users(srv: OpsbookServer) -> None:
    for name, role in TEAM:
        srv.cli(
            "users", "add", name, "--tenant", "acme", "--role", role,
            "--password-env", "WEB_PW", env={"WEB_PW": PASSWORD}, check=True,
        )  # fmt: skip


def _person(browser: Any, base: str, name: str) -> tuple[Any, Any]:
    """A fresh browser context signed in as ``name``, and its page."""
    ctx = browser.new_context(viewport=DESKTOP)
    page = ctx.new_page()
    _sign_in(page, base, name)
    return ctx, page


def test_mitigation_status_update_and_postmortem_in_the_browser(
    browser: Any, redis_server: RedisServer, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    team = "[" + ", ".join(f"{{name: {n}, tenant: acme, role: {r}}}" for n, r in TEAM) + "]"
    with OpsbookServer(_config(redis_server.url_for(12), team)) as srv:
        srv.start()
        _users(srv)
        intake = srv.create_token("acme", integration="alertmanager")
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
        incident_path = f"/ui/incidents/{resp.json()['incidents'][0]}"

        # alice (commander) acknowledges and reads the diagnostics
        actx, alice = _person(browser, srv.url, "alice")
        errors: list[str] = []
        alice.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        alice.goto(srv.url + incident_path)
        alice.get_by_role("button", name="Acknowledge").click()
        expect(alice.locator(".incident-head .state-acknowledged")).to_be_visible(timeout=WAIT)
        expect(alice.locator("#step-1 .result")).to_contain_text("PONG", timeout=WAIT)

        # bob (responder) asks for the destructive flush; it waits for a commander
        bctx, bob = _person(browser, srv.url, "bob")
        bob.goto(srv.url + incident_path)
        step5 = bob.locator("#step-5")
        expect(step5).to_contain_text("Flush the cache")
        expect(step5.locator(".badge")).to_have_text("destructive")
        step5.get_by_role("button", name="Request run").click()
        expect(bob.locator("#step-5 .run-awaiting_approval")).to_be_visible(timeout=WAIT)
        expect(bob.get_by_role("button", name="Post update")).to_have_count(0)  # commanders only
        bctx.close()

        # alice sees bob's request as it will run — the exact words, where, why gated — and
        # approves that request (its id and hash are in the form) with the typed confirmation;
        # a wrong phrase is refused first
        alice.goto(srv.url + incident_path)
        step5 = alice.locator("#step-5")
        request = step5.locator("article.request")
        expect(request).to_have_count(1)
        expect(request.locator("h4")).to_contain_text("by bob")
        expect(request.locator(".argv .arg")).to_have_text(
            ["redis-cli", "-u", redis_server.url_for(12), "FLUSHDB"]
        )
        expect(request.locator(".target")).to_contain_text("redis://127.0.0.1")
        run_id = request.locator("h4 code").inner_text()
        form = request.locator(f'form[action$="/runs/{run_id}/approve"]')
        expect(form.locator('input[name="shown_hash"]')).to_have_value(re.compile("^[0-9a-f]{64}$"))
        step5.get_by_label("Type “Flush the cache” to confirm").fill("flush it")
        step5.get_by_role("button", name="Approve").click()
        expect(alice.locator("p.error")).to_contain_text("Flush the cache", timeout=WAIT)
        expect(alice.locator("#step-5 .run-awaiting_approval")).to_be_visible()
        step5 = alice.locator("#step-5")
        step5.get_by_label("Type “Flush the cache” to confirm").fill("Flush the cache")
        step5.get_by_role("button", name="Approve").click()
        expect(alice.locator("#step-5 .run-ok")).to_be_visible(timeout=WAIT)  # steps poll
        expect(alice.locator("#step-5 .result")).to_contain_text("OK")
        expect(alice.locator("#timeline")).to_contain_text(
            "alice approved bob's request for step 5", timeout=WAIT
        )

        # resolve, then compose the public update: HTMX prefills as the template changes
        alice.get_by_role("button", name="Resolve").click()
        expect(alice.locator(".incident-head .state-resolved")).to_be_visible(timeout=WAIT)
        body = alice.get_by_label("Message")
        expect(body).to_have_value(re.compile("^This incident has been resolved"))
        alice.evaluate("window.__noReload = true")
        alice.wait_for_function(
            "() => !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping, .htmx-added')",
            timeout=WAIT,
        )
        alice.get_by_label("Template").select_option("identified")
        expect(alice.get_by_label("Message")).to_have_value(
            re.compile("^We have identified the cause"), timeout=WAIT
        )
        # let HTMX finish settling the swapped composer before the next change (it re-binds then)
        alice.wait_for_function(
            "() => !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping, .htmx-added')",
            timeout=WAIT,
        )
        alice.get_by_label("Template").select_option("resolved")
        expect(alice.get_by_label("Message")).to_have_value(
            re.compile("^This incident has been resolved"), timeout=WAIT
        )
        assert alice.evaluate("window.__noReload") is True, "the composer reloaded the page"
        alice.get_by_label("Title").fill("Cache back to normal")
        alice.get_by_label("Message").fill("The cache was flushed and works again. (e2e)")
        alice.get_by_role("button", name="Post update").click()
        updates = alice.locator("ol.status-updates")
        expect(updates).to_contain_text("The cache was flushed and works again.", timeout=WAIT)

        public = browser.new_context(viewport=DESKTOP).new_page()
        public.goto(f"{srv.url}/status/acme")
        expect(public.get_by_text("The cache was flushed and works again. (e2e)")).to_be_visible()
        expect(public.locator("#past")).to_be_visible()
        public.context.close()

        # the post-mortem draft waits behind a link; edits persist
        alice.get_by_role("link", name="Edit the post-mortem").click()
        alice.wait_for_url("**/postmortem")
        expect(alice.locator("#pm-h")).to_contain_text("draft")
        alice.get_by_label("Root cause").fill("A client stampede after the cache restarted.")
        alice.get_by_label("Contributing factors").fill(
            "no jitter on reconnect\nno alert on misses"
        )
        alice.get_by_role("button", name="Save post-mortem").click()
        expect(alice.get_by_label("Root cause")).to_have_value(
            "A client stampede after the cache restarted.", timeout=WAIT
        )
        alice.get_by_label("Action item").fill("Add reconnect jitter")
        alice.get_by_label("Owner").fill("bob")
        alice.get_by_label("Due date").fill("2030-01-31")
        alice.get_by_role("button", name="Add action item").click()
        expect(alice.locator("#postmortem table")).to_contain_text(
            "Add reconnect jitter", timeout=WAIT
        )
        md = alice.request.get(f"{srv.url}{incident_path}/postmortem.md")
        assert md.status == 200 and "Add reconnect jitter" in md.text()
        expect(alice.locator("#postmortem")).to_contain_text("Flush the cache")  # a mitigation

        # a forged form post (no CSRF token) is refused and changes nothing
        forged = alice.request.post(
            f"{srv.url}{incident_path}/comment", form={"text": "forged comment"}
        )
        assert forged.status == 403 and "Nothing was changed" in forged.text()
        forged = alice.request.post(
            f"{srv.url}{incident_path}/status-updates",
            form={"template": "resolved", "title": "forged", "body": "forged"},
        )
        assert forged.status == 403
        alice.goto(srv.url + incident_path)
        expect(alice.locator("#timeline")).not_to_contain_text("forged comment")
        expect(alice.locator("ol.status-updates li")).to_have_count(1)

        # screenshots of every page, desktop and phone
        cookies = actx.cookies()
        for path, name in (
            ("/ui/", "incidents-resolved"),
            (incident_path, "incident-resolved"),
            (f"{incident_path}/postmortem", "postmortem"),
            ("/status/acme", "status-page"),
        ):
            _shoot(browser, srv.url, cookies, path, screenshots, name)
        for name in OPTIONAL_PAGES:
            if alice.request.get(f"{srv.url}/ui/{name}", max_redirects=0).status == 200:
                _shoot(browser, srv.url, cookies, f"/ui/{name}", screenshots, name)
        assert not [e for e in errors if "Content Security Policy" in e], errors
        actx.close()

        # vera (viewer) reads everything and sees no action buttons or forms
        vctx, vera = _person(browser, srv.url, "vera")
        for path in (incident_path, f"{incident_path}/postmortem"):
            vera.goto(srv.url + path)
            expect(vera.locator("main h1")).to_be_visible()
            expect(vera.locator("main button")).to_have_count(0)
            expect(vera.locator("main form")).to_have_count(0)
            expect(vera.locator("main textarea")).to_have_count(0)
        expect(vera.locator("#postmortem")).to_contain_text("A client stampede")
        vctx.close()
