"""The runbooks pages of the web UI (TestClient, SQLite and PostgreSQL): the list, search, one
runbook rendered with its structure and lint findings, tenant scoping, and hostile Markdown
rendered inert."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsbook.flows.runbook_catalog import runbook_id
from opsbook.web.runbooks_pages import render_markdown, safe_link
from tests.support.app import TEST_CONFIG, Harness, running_app
from tests.support.web import add_web_users, sign_in


def add_users(h: Harness) -> Harness:
    """alice (acme commander), vera (acme viewer), carmen (globex commander) as web users."""
    return add_web_users(h)


@pytest.fixture
def users(h: Harness) -> Harness:
    return add_users(h)


def ids_in(c: TestClient) -> list[str]:
    """The runbook ids linked from the runbooks page."""
    html = c.get("/ui/runbooks").text
    return sorted({part.split('"')[0] for part in html.split('href="/ui/runbooks/')[1:]})


def test_runbooks_page_lists_the_tenants_runbooks(users: Harness) -> None:
    c = users.client
    assert c.get("/ui/runbooks", follow_redirects=False).headers["location"] == "/ui/login"
    sign_in(c, "vera")
    r = c.get("/ui/runbooks")
    assert r.status_code == 200
    assert "script-src 'self'" in r.headers["content-security-policy"]
    html = r.text
    assert "<h1>Runbooks</h1>" in html and 'href="/ui/runbooks"' in html  # nav link
    assert "checkout-api.md" in html and "ledger.md" not in html
    assert '<label for="runbook-q"' in html and '<th scope="col">Runbook</th>' in html


def test_search_finds_a_step(users: Harness) -> None:
    c = users.client
    sign_in(c, "alice")
    html = c.get("/ui/runbooks", params={"q": "rollout undo"}).text
    assert "matching “rollout undo”" in html
    assert "kubectl rollout undo deployment/checkout-api -n acme" in html
    assert "Checkout API Down" in html
    by_alert = c.get("/ui/runbooks", params={"q": "checkoutapidown"}).text
    assert "Checkout API Down" in by_alert and "0 sections" not in by_alert
    none = c.get("/ui/runbooks", params={"q": "LedgerReplicationLag"}).text  # globex's
    assert "0 sections matching" in none and "Standby replication lag" not in none


def test_a_runbook_page_shows_structure_badges_and_lint(users: Harness) -> None:
    c = users.client
    sign_in(c, "alice")
    (rid,) = ids_in(c)
    html = c.get(f"/ui/runbooks/{rid}").text
    assert "Checkout API Down" in html and "CheckoutApiDown" in html
    assert 'class="badge safety-read-only"' in html and 'class="badge safety-mutating"' in html
    assert "health endpoint failing for 2 minutes" in html  # threshold
    assert 'id="md-L12"' in html and 'href="#md-L12"' in html  # heading anchors from the source
    assert "Lint findings" in html


def test_another_tenants_runbook_is_not_found(users: Harness) -> None:
    c = users.client
    sign_in(c, "carmen")
    (theirs,) = ids_in(c)
    assert c.get(f"/ui/runbooks/{theirs}").status_code == 200
    c.cookies.clear()
    sign_in(c, "alice")
    r = c.get(f"/ui/runbooks/{theirs}")
    assert r.status_code == 404 and "Ledger" not in r.text
    assert c.get("/ui/runbooks/rb_nope").status_code == 404


HOSTILE = """\
---
title: Evil runbook
---
# Evil <script>alert(1)</script>

## Evil Down

**Alert:** `EvilDown`

<script>alert(1)</script>

<img src=x onerror=alert(1)>

<div onmouseover="alert(1)">hover</div>

[x](javascript:alert(1)) [y](JaVaScRiPt:alert(1)) [z](java&#x09;script:alert(1))
<a href="data:text/html,<script>alert(1)</script>">d</a>
[d2](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
![i](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)
<javascript:alert(1)> [v](vbscript:msgbox) [f](file:///etc/passwd)
[ok](https://example.com/runbook) [mail](mailto:ops@example.com) [rel](other.md)

1. **Look** <svg onload=alert(1)>
   ```bash
   echo "<script>alert(1)</script>"
   ```

2. **Wipe** `{{ 7*7 }}`
   ```bash
   rm -rf /var/lib/evil
   ```
"""


class Audit(HTMLParser):
    """What would run or navigate somewhere unsafe in a browser."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.handlers: list[str] = []
        self.bad_urls: list[str] = []
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            self.scripts.append(found.get("src") or "")
        if tag == "a":
            self.links.append(found)
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.handlers.append(f"{tag} {name}")
            url = "".join((value or "").split()).lower()
            if name in ("href", "src", "action", "formaction", "xlink:href") and (
                url.startswith(("javascript:", "data:", "vbscript:", "file:"))
            ):
                self.bad_urls.append(value or "")


@pytest.fixture
def evil(db_url: str, tmp_path: Path) -> Iterator[tuple[Harness, Path]]:
    path = tmp_path / "evil.md"
    path.write_text(HOSTILE, encoding="utf-8")
    config = TEST_CONFIG.replace(
        "- {name: search-indexer, tenant: acme}",
        f'- {{name: search-indexer, tenant: acme, runbooks: ["{path}"]}}',
    )
    with running_app(db_url, config) as h:
        yield add_users(h), path


def test_hostile_runbook_markdown_renders_inert(evil: tuple[Harness, Path]) -> None:
    h, path = evil
    c = h.client
    sign_in(c, "alice")
    rid = runbook_id(path.as_posix())
    for url in (f"/ui/runbooks/{rid}", "/ui/runbooks", "/ui/runbooks?q=evil"):
        r = c.get(url)
        assert r.status_code == 200, url
        audit = Audit()
        audit.feed(r.text)
        assert all(s.startswith("/ui/static/") for s in audit.scripts), (url, audit.scripts)
        assert audit.handlers == [] and audit.bad_urls == [], (url, audit.handlers, audit.bad_urls)
    html = c.get(f"/ui/runbooks/{rid}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as text
    assert "{{ 7*7 }}" in html and ">49<" not in html
    hrefs = {a.get("href"): a.get("rel") for a in _links(html)}
    for good in ("https://example.com/runbook", "mailto:ops@example.com", "other.md"):
        assert hrefs[good] == "noopener noreferrer", good
    assert 'class="badge safety-destructive"' in html  # rm -rf, badged in the structure


def _links(html: str) -> list[dict[str, str | None]]:
    audit = Audit()
    audit.feed(html)
    return audit.links


def test_an_unreadable_runbook_shows_its_parsed_structure(evil: tuple[Harness, Path]) -> None:
    h, path = evil
    path.unlink()
    c = h.client
    sign_in(c, "alice")
    r = c.get(f"/ui/runbooks/{runbook_id(path.as_posix())}")
    assert r.status_code == 200
    assert "cannot be read now" in r.text and "Evil Down" in r.text and "EvilDown" in r.text


def test_link_check_allows_only_web_mail_and_relative_targets() -> None:
    for ok in ("https://x.test/a", "http://x", "mailto:a@b", "other.md", "#top", "/ui/x", "?q=1"):
        assert safe_link(ok), ok
    for bad in (
        "javascript:alert(1)",
        "data:image/png;base64,AA",
        "vbscript:x",
        "ftp://x",
        "tel:1",
        " JAVASCRIPT:x",
    ):
        assert not safe_link(bad), bad
    out = render_markdown("[a](https://x.test) <b onclick=x>b</b>")
    assert 'rel="noopener noreferrer"' in out and "<b" not in out
