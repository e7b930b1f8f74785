"""Real deliveries through Apprise: email to a local SMTP server, webhooks to a local receiver.

The outbox loop here is the contract the delivery flow follows: attempt, on a retryable failure
wait ``next_attempt`` (asserted within bounds, never slept: the clock is a variable), stop on
success, on a non-retryable failure, or at the dead-letter age.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opsbook.notify.apprise_channel import DELIVERY_HEADER, send
from opsbook.notify.backoff import dead_letter, next_attempt
from opsbook.notify.models import Links, Notification
from opsbook.notify.render import render

pytest.importorskip("apprise", reason="apprise is not installed yet")

T0 = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)


def note(contact: str) -> Notification:
    return Notification(
        incident_id="inc_7",
        update_seq=1,
        contact=contact,
        kind="triggered",
        tenant="intelgraph",
        service="assistant-api",
        severity="P0",
        status="triggered",
        summary="healthz failing for 2m",
        links=Links("http://ops.local/i/inc_7", "http://ops.local/l/ack", "http://ops.local/l/res"),
    )


def deliver(n: Notification, max_age: timedelta = timedelta(hours=24)) -> list[tuple[Any, ...]]:
    """Run the outbox for one message with an injected clock; return the attempts."""
    title, body = render(n.kind, n.contact.split("://")[0], n.context())
    now, attempt = T0, 0
    log: list[tuple[Any, ...]] = []
    rng = random.Random(7)
    while True:
        result = send(n.contact, title, body, timeout=2.0, delivery_id=n.id)
        log.append((now - T0, result.ok, result.retryable, result.detail))
        if result.ok or not result.retryable:
            return log
        later = next_attempt(attempt, now, jitter=rng)
        bound = min(timedelta(hours=1), timedelta(seconds=30) * 2**attempt)
        assert now <= later <= now + bound
        now, attempt = later, attempt + 1
        if dead_letter(T0, now, max_age):
            log.append((now - T0, "dead-letter", False, ""))
            return log


def test_email_reaches_a_real_smtp_server(smtp: tuple[int, Any]) -> None:
    port, inbox = smtp
    contact = (
        f"mailto://127.0.0.1:{port}?from=opsbook@example.com&to=alice@example.com&mode=insecure"
    )
    n = note(contact)
    log = deliver(n)
    assert log[-1][1] is True and len(log) == 1
    assert len(inbox.messages) == 1
    msg = inbox.messages[0]
    assert msg["Subject"] == "[P0] assistant-api: healthz failing for 2m"
    assert msg[DELIVERY_HEADER] == n.id
    text = msg.get_payload(decode=True)
    body = text.decode() if isinstance(text, bytes) else str(msg.get_payload())
    assert "http://ops.local/l/ack" in body and "healthz failing for 2m" in body


def test_webhook_down_for_a_while_then_delivered_once_with_one_id(receiver_factory: Any) -> None:
    receiver = receiver_factory(statuses=(503, 502, 429))
    n = note(f"json://127.0.0.1:{receiver.port}/hook")
    log = deliver(n)
    assert [entry[1:3] for entry in log] == [(False, True)] * 3 + [(True, False)]
    assert "HTTP 503" in log[0][3]
    assert len(receiver.requests) == 4
    # every attempt carries the same delivery id: a receiver drops duplicates by it
    ids = {r["headers"].get(DELIVERY_HEADER) for r in receiver.requests}
    assert ids == {n.id}
    delivered = [r for r in receiver.requests if r["status"] == 200]
    assert len(delivered) == 1
    payload = json.loads(delivered[0]["json"]["message"])
    assert payload["id"] == n.id and payload["links"]["acknowledge"] == "http://ops.local/l/ack"


def test_a_400_is_not_retried(receiver_factory: Any) -> None:
    receiver = receiver_factory(default_status=400)
    log = deliver(note(f"json://127.0.0.1:{receiver.port}/hook"))
    assert [entry[1:3] for entry in log] == [(False, False)]
    assert "HTTP 400" in log[0][3]
    assert len(receiver.requests) == 1


def test_unreachable_is_retried_until_dead_letter_and_hides_secrets(closed_port: int) -> None:
    contact = f"json://bot:sup3rs3cret@127.0.0.1:{closed_port}/hook/t0ken-abcdef?x=1"
    log = deliver(note(contact), max_age=timedelta(minutes=5))
    assert log[-1][1] == "dead-letter" and len(log) > 2
    assert all(entry[2] is True for entry in log[:-1])
    for entry in log[:-1]:
        assert "sup3rs3cret" not in entry[3] and "t0ken-abcdef" not in entry[3]


def test_a_url_apprise_does_not_know_is_not_retried() -> None:
    result = send("nosuchscheme://secret-token-123", "t", "b", timeout=1.0)
    assert (result.ok, result.retryable) == (False, False)
    assert "secret-token-123" not in result.detail


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retryable(receiver_factory: Any, status: int) -> None:
    receiver = receiver_factory(default_status=status)
    result = send(f"json://127.0.0.1:{receiver.port}/", "t", "b", timeout=2.0)
    assert (result.ok, result.retryable) == (False, True) and f"HTTP {status}" in result.detail
