"""Every page of the web UI on a phone (390×844) and a desktop (1280×800) in real Chromium against
a real ``opsbook serve``: nothing is wider than the phone's screen, and the controls a responder
needs at 3 a.m. (Acknowledge, a silence's Expire, a runbook's lint status, the paging card) can
be scrolled to and seen. The incident page leads with what a responder needs; a dry run shows
its result in its step without reloading the page; the title counts unacknowledged incidents.
Screenshots of every page at both sizes go to test-artifacts/screenshots/ (mobile-*.png)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
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
LONG = "a-very-long-label-value-without-any-space-" * 4


def _config(redis_url: str, runbook: Path) -> str:
    return f"""
tenants: [{{name: acme}}]
users:
  - {{name: alice, tenant: acme, role: commander}}
  - {{name: lead, tenant: acme, role: commander}}
schedules:
  - {{name: primary, tenant: acme, timezone: UTC,
     rotation: {{every: 1w, handoff: "Mon 09:00", participants: [alice]}}}}
escalation_policies:
  - name: cache
    tenant: acme
    steps: [{{notify: {{schedule: primary}}}}, {{after: 10m, notify: {{users: [lead]}}}}]
services:
  - {{name: cache, tenant: acme, runbooks: ["{runbook}"], components: [Cache, Sessions],
     escalation_policy: cache, variables: {{REDIS_URL: "{redis_url}"}}}}
routes: [{{match: {{job: cache}}, service: cache}}]
"""


def _alert() -> dict[str, Any]:
    return {
        "status": "firing",
        "labels": {"alertname": "CacheDown", "job": "cache", "severity": "critical", "pod": LONG},
        "annotations": {
            "summary": "The cache answers no PING",
            "description": "Clients fall back to the database; latency rises.",
            "runbook_url": "https://runbooks.example.com/cache#cache-down",
            "dashboard_url": "https://grafana.example.com/d/cache",
        },
        "generatorURL": "https://prometheus.example.com/graph?g0.expr=up%7Bjob%3D%22cache%22%7D",
    }


def _overflow(page: Any) -> int:
    """How many CSS pixels the document is wider than the viewport (0 when nothing overflows):
    ``document.documentElement.scrollWidth`` against the window's width (390 on the phone)."""
    width = int(page.evaluate("() => document.documentElement.scrollWidth"))
    return width - int(page.viewport_size["width"])


def _too_wide(page: Any) -> list[str]:
    """The innermost elements whose right edge passes the viewport, for the failure message:
    a CI run on another machine names what broke instead of only by how many pixels."""
    return list(
        page.evaluate(
            """() => {
              const w = window.innerWidth, out = [];
              for (const el of document.querySelectorAll('body *')) {
                const r = el.getBoundingClientRect();
                if (r.right <= w + 0.5 || r.width === 0) continue;
                if ([...el.children].some(c => c.getBoundingClientRect().right > w + 0.5)) continue;
                const name = el.tagName.toLowerCase() + (el.className ? '.' + el.className : '');
                out.push(`${name} right=${Math.round(r.right)} "${el.textContent.slice(0, 60)}"`);
              }
              // text overflows its element without a wider box: name the element it spills from
              for (const el of document.querySelectorAll('body *')) {
                if (el.scrollWidth > el.clientWidth + 1 && el.children.length === 0
                    && getComputedStyle(el).overflowX === 'visible')
                  out.push(`${el.tagName.toLowerCase()}.${el.className} spills ${el.scrollWidth - el.clientWidth} px`);
              }
              return out.slice(0, 8);
            }"""
        )
    )


def _visible_after_scroll(page: Any, locator: Any) -> None:
    """The control can be scrolled to and is then inside the viewport, not clipped sideways."""
    from playwright.sync_api import expect

    locator.scroll_into_view_if_needed(timeout=WAIT)
    expect(locator).to_be_in_viewport(timeout=WAIT)
    box = locator.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


def test_every_page_fits_a_phone(
    browser: Any, redis_server: RedisServer, screenshots: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    # a checkout's path is as long as the machine makes it (CI's clone broke the runbook page
    # once): the runbook lives under a long directory name without a break here on purpose
    deep = tmp_path / ("checkout_of_the_incident_response_repository_" * 3) / "runbooks"
    deep.mkdir(parents=True)
    runbook = deep / RUNBOOK.name
    runbook.write_text(RUNBOOK.read_text())
    with OpsbookServer(_config(redis_server.url_for(13), runbook)) as srv:
        srv.start()
        srv.cli(
            "users", "add", "alice", "--tenant", "acme", "--role", "commander",
            "--password-env", "WEB_PW", env={"WEB_PW": PASSWORD}, check=True,
        )  # fmt: skip
        tokens = srv.create_tokens(
            {
                "intake": {"tenant": "acme", "integration": "alertmanager"},
                "cmd": {"tenant": "acme", "role": "commander"},
            }
        )
        resp = srv.post(
            "/api/v1/integrations/alertmanager", tokens["intake"], json={"alerts": [_alert()]}
        )
        assert resp.status_code == 200, resp.text
        incident = f"/ui/incidents/{resp.json()['incidents'][0]}"
        now = datetime.now(UTC)
        silence = {
            "matchers": [f'pod="{LONG}"', 'job="cache-batch"'],
            "endsAt": (now + timedelta(hours=2)).isoformat(),
            "comment": "deploying the cache cluster; ticket OPS-1234 " + LONG,
        }
        r = srv.post("/api/v1/silences", tokens["cmd"], json=silence)
        assert r.status_code == 201, r.text

        # sign in on the phone (the sign-in page itself must fit too)
        ctx = browser.new_context(viewport=PHONE)
        page = ctx.new_page()
        errors: list[str] = []
        page.on(
            "console",
            lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None,
        )
        page.goto(f"{srv.url}/ui/login")
        assert _overflow(page) <= 0, _too_wide(page)
        page.screenshot(
            path=str(screenshots / "mobile-login-phone.png"), full_page=True, caret="initial"
        )
        page.get_by_label("Name").fill("alice")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{srv.url}/ui/")

        # the title counts what nobody acknowledged yet, and the tab icon says so
        expect(page).to_have_title("(1) Incidents — opsbook", timeout=WAIT)
        assert "favicon-alert" in (page.locator("#favicon").get_attribute("href") or "")
        icon = httpx.get(f"{srv.url}/favicon.ico", timeout=10)
        assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"

        # the incident page leads with the summary, impact, paging and the alert's links
        page.goto(srv.url + incident)
        head = page.locator(".at-a-glance")
        expect(head).to_contain_text("The cache answers no PING")
        expect(page.locator("#glance-impact")).to_contain_text("Cache")
        expect(page.locator("#glance-impact")).to_contain_text("not published")
        paging = page.locator("#glance-paging")
        expect(paging).to_contain_text("Level 1", timeout=WAIT)  # the first tick pages alice
        expect(paging).to_contain_text("alice")
        expect(paging).to_contain_text("Next: level 2 → lead")
        links = page.locator("#alerts .alert-links a")
        expect(links).to_have_text(["Source", "Runbook", "Dashboard"])
        order = page.evaluate(
            """() => ['#glance-paging', '#alerts', '#steps', '#timeline']
                 .map(s => document.querySelector(s).getBoundingClientRect().top)"""
        )
        assert order == sorted(order), f"paging, alerts, steps, timeline out of order: {order}"
        times = page.locator("#timeline time").all_inner_texts()
        assert times and all(t.endswith(" UTC") and t[:4].isdigit() for t in times), times
        assert times == sorted(times), "the timeline is oldest first, as the CLI and API"
        _visible_after_scroll(page, page.get_by_role("button", name="Acknowledge"))
        _visible_after_scroll(page, paging)
        assert _overflow(page) <= 0, ("the incident page is wider than the phone", _too_wide(page))

        # a dry run answers inside its step; the page does not reload or jump
        page.evaluate("window.__noReload = true")
        step = page.locator("#step-3")
        step.get_by_role("button", name="Dry run").scroll_into_view_if_needed()
        y = page.evaluate("window.scrollY")
        step.get_by_role("button", name="Dry run").click()
        expect(page.locator("#step-3 .step-msg")).to_contain_text("Dry run of step 3", timeout=WAIT)
        assert page.evaluate("window.__noReload") is True, "the dry run reloaded the page"
        assert abs(page.evaluate("window.scrollY") - y) < 50, "the dry run lost the place"

        # someone acknowledges elsewhere: the paging card follows with the timeline's poll
        iid = incident.rsplit("/", 1)[-1]
        r = srv.post(f"/api/v1/incidents/{iid}/acknowledge", tokens["cmd"])
        assert r.status_code == 200, r.text
        expect(paging).to_contain_text("Escalation stopped: acknowledged", timeout=WAIT)
        expect(page.locator("#step-3 .step-msg")).to_contain_text("Dry run of step 3")
        assert page.evaluate("window.__noReload") is True

        # every page: nothing wider than the screen
        for path, name in (
            ("/ui/", "incidents"),
            (incident, "incident"),
            ("/ui/runbooks", "runbooks"),
            ("/ui/silences", "silences"),
            ("/ui/oncall", "oncall"),
            ("/ui/reports", "reports"),
            ("/ui/rollouts", "rollouts"),
            ("/ui/inbox", "inbox"),
            ("/status/acme", "status-page"),
        ):
            page.goto(srv.url + path)
            page.wait_for_load_state("load", timeout=WAIT)
            page.screenshot(
                path=str(screenshots / f"mobile-{name}-phone.png"), full_page=True, caret="initial"
            )
            assert _overflow(page) <= 0, (f"{path} is wider than a 390 px phone", _too_wide(page))
        page.goto(srv.url + "/ui/runbooks")
        _visible_after_scroll(page, page.locator("table.runbooks td.lint").first)
        expect(page.locator("table.runbooks td.lint").first).to_contain_text(
            re.compile("clean|error|warning")
        )
        runbook_link = page.locator("table.runbooks td.title a").first.get_attribute("href")
        assert runbook_link
        page.goto(srv.url + runbook_link)
        page.screenshot(
            path=str(screenshots / "mobile-runbook-phone.png"), full_page=True, caret="initial"
        )
        assert _overflow(page) <= 0, ("the runbook page is wider than the phone", _too_wide(page))
        page.goto(srv.url + "/ui/silences")
        _visible_after_scroll(page, page.get_by_role("button", name="Expire").first)
        page.goto(srv.url + "/ui/reports")
        for svg in page.locator(".chart-figure svg").all():
            box = svg.bounding_box()
            assert box is not None and box["x"] + box["width"] <= PHONE["width"], box
        assert not [e for e in errors if "Content Security Policy" in e], errors

        # the same pages at desktop width, for the record
        cookies = ctx.cookies()
        ctx.close()
        desk = browser.new_context(viewport=DESKTOP)
        desk.add_cookies(cookies)
        dpage = desk.new_page()
        for path, name in (
            ("/ui/", "incidents"),
            (incident, "incident"),
            ("/ui/runbooks", "runbooks"),
            (runbook_link, "runbook"),
            ("/ui/silences", "silences"),
            ("/ui/oncall", "oncall"),
            ("/ui/reports", "reports"),
            ("/status/acme", "status-page"),
        ):
            dpage.goto(srv.url + path)
            dpage.wait_for_load_state("load", timeout=WAIT)
            dpage.screenshot(
                path=str(screenshots / f"mobile-{name}-desktop.png"),
                full_page=True,
                caret="initial",
            )
            assert _overflow(dpage) <= 0, f"{path} is wider than the desktop window"
        desk.close()
