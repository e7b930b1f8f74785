"""Real delivery targets for notify tests: a local SMTP server (aiosmtpd) and a webhook receiver.

Apprise and aiosmtpd are optional until they are in the lock file: the tests skip without them.
"""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest

from tests.support.services import WebhookReceiver


class Inbox:
    """Messages the SMTP server accepted, parsed."""

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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = controller_mod.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def receiver_factory() -> Iterator[Any]:
    made: list[WebhookReceiver] = []

    def make(statuses: tuple[int, ...] = (), default_status: int = 200) -> WebhookReceiver:
        r = WebhookReceiver(statuses, default_status).start()
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()
