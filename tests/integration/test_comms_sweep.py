"""Subscribers get public updates by email through a real SMTP server; the sweep sends each once."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsbook.config.load import parse_config
from opsbook.flows.comms_sweep import send_notices
from tests.support.app import TEST_CONFIG, am_alert, am_body, confirmed_subscriber, running_app
from tests.support.services import free_port


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
def smtp() -> Iterator[tuple[int, Inbox]]:
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    port, inbox = free_port(), Inbox()
    controller = controller_mod.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def test_each_subscriber_gets_each_public_update_once(
    smtp: tuple[int, Inbox], tmp_path: Path
) -> None:
    port, inbox = smtp
    url = f"mailto://127.0.0.1:{port}?from=status@acme.example&mode=insecure"
    config = (
        TEST_CONFIG.replace(
            "  - {name: checkout-api, tenant: acme,",
            "  - {name: checkout-api, tenant: acme, components: [Checkout],",
        )
        + f'notify: {{status_email: "{url}"}}\n'
    )
    secret = "comms-sweep-secret-0123456789"
    with running_app(
        f"sqlite:///{tmp_path}/o.db", config, run_worker=False, secret_key=secret
    ) as h:
        st = h.client.app.state.opsbook  # type: ignore[attr-defined]
        for email in ("reader@example.com", "second@example.org"):
            confirmed_subscriber(h, email)  # double opt-in: the link is followed
        assert send_notices(st.sessions, st.config, h.clock.now()) == 2  # the confirmations
        inbox.messages.clear()
        inc = h.post_am(am_body(am_alert("CheckoutApiDown", job="checkout", severity="critical")))[
            "incidents"
        ][0]
        body = {
            "template": "investigating",
            "title": "Checkout is slow",
            "body": "We are looking into it.",
        }
        assert (
            h.client.post(
                f"/api/v1/incidents/{inc}/status-updates", json=body, headers=h.auth()
            ).status_code
            == 201
        )
        assert send_notices(st.sessions, st.config, h.clock.now()) == 2
        assert send_notices(st.sessions, st.config, h.clock.now()) == 0  # each notice once
        rcpts = sorted(r for to, _ in inbox.messages for r in to)
        assert rcpts == ["reader@example.com", "second@example.org"]
        assert all(
            "Checkout is slow" in m and "We are looking into it." in m for _, m in inbox.messages
        )


def test_without_a_mail_url_notices_wait(tmp_path: Path) -> None:
    with running_app(f"sqlite:///{tmp_path}/o.db", TEST_CONFIG, run_worker=False) as h:
        st = h.client.app.state.opsbook  # type: ignore[attr-defined]
        assert parse_config(TEST_CONFIG).notify.status_email is None
        assert send_notices(st.sessions, st.config, h.clock.now()) == 0
