"""Status-page subscriptions: double opt-in by a signed, expiring, single-use link mailed through
a real SMTP server, and per-client / per-address limits kept in the database (429 + Retry-After).
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import structlog
from sqlalchemy import select

from opsbook.flows.comms_sweep import send_notices
from opsbook.storage.db import make_engine, make_sessionmaker
from opsbook.storage.tables_comms import RateLimitRow
from tests.support.app import TEST_CONFIG, Harness, am_alert, am_body, running_app
from tests.support.services import free_port

SECRET = "subscribe-link-secret-0123456789"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain", "html"))
        text = f"{msg['subject']}\n{body.get_content() if body else ''}"
        self.messages.append((list(envelope.rcpt_tos), text))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[int, Inbox]]:
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    port, box = free_port(), Inbox()
    controller = controller_mod.Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


@pytest.fixture
def hs(db_url: str, inbox: tuple[int, Inbox]) -> Iterator[Harness]:
    url = f"mailto://127.0.0.1:{inbox[0]}?from=status@acme.example&mode=insecure"
    config = (
        TEST_CONFIG.replace(
            "  - {name: checkout-api, tenant: acme,",
            "  - {name: checkout-api, tenant: acme, components: [Checkout],",
        )
        + f'notify: {{status_email: "{url}"}}\n'
    )
    with running_app(db_url, config, secret_key=SECRET, run_worker=False) as h:
        yield h


def _deliver(h: Harness) -> int:
    st = h.client.app.state.opsbook  # type: ignore[attr-defined]
    sent: int = send_notices(st.sessions, st.config, h.clock.now())
    return sent


def _post_update(h: Harness, incident_id: str, title: str) -> int:
    body = {"template": "investigating", "title": title, "body": f"{title}: looking into it."}
    r = h.client.post(
        f"/api/v1/incidents/{incident_id}/status-updates", json=body, headers=h.auth()
    )
    assert r.status_code == 201, r.text
    queued: int = r.json()["notices_queued"]
    return queued


def _link_in(message: str) -> str:
    found = re.search(r"http://127\.0\.0\.1:8080(/status/acme/confirm/[\w.-]+)", message)
    assert found, message
    return found.group(1)


def test_only_a_confirmed_address_gets_updates_and_the_link_works_once(
    hs: Harness, inbox: tuple[int, Inbox]
) -> None:
    h, box = hs, inbox[1]
    r = h.client.post("/status/acme/subscribe", json={"email": "Reader@Example.com"})
    assert r.status_code == 202 and r.json()["pending"] is True, r.text
    inc = h.post_am(am_body(am_alert("CheckoutApiDown", job="checkout", severity="critical")))
    incident_id = inc["incidents"][0]
    assert _post_update(h, incident_id, "Checkout is slow") == 0  # pending: nothing queued
    assert _deliver(h) == 1  # only the confirmation goes out
    [(to, message)] = box.messages
    assert to == ["reader@example.com"] and "Checkout is slow" not in message
    assert "Confirm your subscription" in message
    link = _link_in(message)

    shown = h.client.get(link)  # a mail scanner's fetch: shows a button, confirms nothing
    assert shown.status_code == 200 and "reader@example.com" in shown.text
    assert '<form method="post">' in shown.text and shown.headers["cache-control"] == "no-store"
    assert _post_update(h, incident_id, "Still slow") == 0

    forged = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    assert h.client.post(forged).status_code == 400
    assert h.client.post(link.replace("/status/acme/", "/status/globex/")).status_code == 400
    with structlog.testing.capture_logs() as logs:
        done = h.client.post(link)
    assert done.status_code == 200 and "Subscription confirmed" in done.text
    [line] = [e for e in logs if e.get("event") == "request"]
    assert line["path"] == "/status/acme/confirm/[redacted]", line  # the link is a credential
    again = h.client.post(link, headers={"Accept": "application/json"})
    assert again.status_code == 410 and "already used" in again.json()["detail"]
    assert h.client.get(link).status_code == 410

    assert _post_update(h, incident_id, "Fixed, monitoring") == 1
    assert _deliver(h) == 1
    assert box.messages[-1][0] == ["reader@example.com"]
    assert "Fixed, monitoring" in box.messages[-1][1]
    # asking again once confirmed sends nothing and answers the same
    r = h.client.post("/status/acme/subscribe", json={"email": "reader@example.com"})
    assert r.status_code == 202 and r.json()["pending"] is True
    assert _deliver(h) == 0


def test_a_confirmation_link_expires_and_a_newer_one_replaces_it(
    hs: Harness, inbox: tuple[int, Inbox]
) -> None:
    h, box = hs, inbox[1]
    assert h.client.post("/status/acme/subscribe", data={"email": "late@example.org"}).status_code
    assert _deliver(h) == 1
    first = _link_in(box.messages[-1][1])
    h.clock.advance(hours=49)  # OPSBOOK_SUBSCRIBE_CONFIRM_TTL is 48 h
    expired = h.client.post(first)
    assert expired.status_code == 410 and "expired" in expired.text
    h.client.post("/status/acme/subscribe", json={"email": "late@example.org"})
    assert _deliver(h) == 1
    second = _link_in(box.messages[-1][1])
    h.client.post("/status/acme/subscribe", json={"email": "late@example.org"})
    assert _deliver(h) == 1
    third = _link_in(box.messages[-1][1])
    assert h.client.post(second).status_code == 410  # superseded by the newer link
    assert h.client.post(third).status_code == 200


def test_a_flood_is_refused_with_429_per_client_and_per_address(hs: Harness) -> None:
    h = hs
    for i in range(3):  # OPSBOOK_SUBSCRIBE_PER_ADDRESS = 3 per hour
        r = h.client.post("/status/acme/subscribe", json={"email": "victim@example.com"})
        assert r.status_code == 202, (i, r.text)
    r = h.client.post("/status/acme/subscribe", json={"email": "victim@example.com"})
    assert r.status_code == 429 and r.json()["field"] == "email", r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert 3500 <= int(r.headers["retry-after"]) <= 3600
    for i in range(6):  # the same client: 10 requests per hour in all, refused ones included
        r = h.client.post("/status/acme/subscribe", json={"email": f"reader{i}@example.com"})
        assert r.status_code == 202, (i, r.text)
    flood = [
        h.client.post("/status/acme/subscribe", json={"email": f"flood{i}@example.com"})
        for i in range(20)
    ]
    assert {r.status_code for r in flood} == {429}
    assert "this client" in flood[0].json()["detail"]
    engine = make_engine(h.url)
    with make_sessionmaker(engine)() as s:  # no address is stored in clear by the limiter
        keys = s.scalars(select(RateLimitRow.key)).all()
        assert keys and not any("@" in k or "testclient" in k for k in keys)
    engine.dispose()
    h.clock.advance(minutes=61)  # a new window
    r = h.client.post("/status/acme/subscribe", json={"email": "victim@example.com"})
    assert r.status_code == 202, r.text


def test_without_a_secret_key_subscriptions_are_off(db_url: str) -> None:
    with running_app(db_url, run_worker=False) as h:
        r = h.client.post("/status/acme/subscribe", json={"email": "a@example.com"})
        assert r.status_code == 404 and "OPSBOOK_SECRET_KEY" in r.json()["detail"]


def test_an_acknowledge_link_is_never_a_confirmation_link(hs: Harness) -> None:
    """An acknowledge link (signed by the same key) is never a confirmation link."""
    from opsbook.notify import links

    h = hs
    ack = links.sign("acknowledge", "inc_x", "bob", h.clock.now() + timedelta(hours=1), SECRET)
    assert h.client.post(f"/status/acme/confirm/{ack}").status_code == 400
