"""`opsbook notify test CONTACT`: a real message now (local SMTP server, local webhook receiver),
``delivered`` or the masked reason with exit 1 — no server, no database."""

from __future__ import annotations

import email
import threading
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from opsbook.cli import notify
from opsbook.notify.apprise_channel import DELIVERY_HEADER
from tests.support.services import WebhookReceiver, free_port

pytest.importorskip("apprise")
SECRET = "CliCanary5521"


def cli() -> typer.Typer:
    """The sub-app mounted as `opsbook notify`, as the main CLI does."""
    root = typer.Typer()
    root.add_typer(notify.app, name="notify")
    return root


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli(), ["notify", *args])


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    port, inbox = free_port(), Inbox()
    controller = controller_mod.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(default_status=200).start()
    try:
        yield r
    finally:
        r.close()


def test_a_test_email_is_delivered(smtp: tuple[int, Inbox]) -> None:
    port, inbox = smtp
    url = f"mailto://127.0.0.1:{port}?from=opsbook@example.com&to=alice@example.com&mode=insecure"
    r = invoke("test", url, "--title", "Can you hear me?", "--body", "checking my pager")
    assert r.exit_code == 0, r.output
    assert r.output.strip() == "delivered"
    [msg] = inbox.messages
    assert msg["Subject"] == "Can you hear me?"
    assert msg[DELIVERY_HEADER].startswith("ntf_test_")
    payload = msg.get_payload(decode=True)
    assert isinstance(payload, bytes) and b"checking my pager" in payload


def test_a_test_webhook_is_delivered_with_the_default_message(receiver: WebhookReceiver) -> None:
    r = invoke("test", f"json://127.0.0.1:{receiver.port}/hook")
    assert r.exit_code == 0 and "delivered" in r.output
    [body] = receiver.bodies
    assert body["title"] == "Test message from opsbook"
    assert "opsbook can page you here" in body["message"]


def test_a_refused_message_exits_1_with_the_masked_reason() -> None:
    bad = WebhookReceiver(default_status=400).start()
    try:
        r = invoke("test", f"json://bot:{SECRET}@127.0.0.1:{bad.port}/{SECRET}/hook")
    finally:
        bad.close()
    assert r.exit_code == 1
    assert f"not delivered to json://bot:***@127.0.0.1:{bad.port}/***: HTTP 400" in r.output
    assert "what to do: the service refused the message or the URL is wrong" in r.output
    assert SECRET not in r.output


def test_an_unreachable_service_says_to_check_it_is_reachable() -> None:
    r = invoke("test", f"json://127.0.0.1:{free_port()}/hook", "--timeout", "2")
    assert r.exit_code == 1
    assert "connection failed" in r.output and "check that it is reachable" in r.output


def test_a_url_apprise_does_not_know_is_explained() -> None:
    r = invoke("test", f"nosuchscheme://{SECRET}")
    assert r.exit_code == 1
    assert "not a contact URL Apprise understands" in r.output and SECRET not in r.output


def test_help_teaches_the_url_forms() -> None:
    r = invoke("test", "--help")
    assert r.exit_code == 0
    for form in (
        "mailto://",
        "mailtos://",
        "slack://",
        "msteams://",
        "ntfy://",
        "json://",
        "pagerduty://",
    ):
        assert form in r.output, form
    assert "X-Opsbook-Delivery" in r.output
    assert "notify test" in invoke("--help").output
