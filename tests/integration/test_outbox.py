"""The delivery outbox end to end: real email to aiosmtpd, real webhooks to a local receiver.

Nothing sleeps for a timer: the worker is driven by hand (``run_once``) and the harness's
FrozenClock is moved to each delivery's ``next_attempt_at``, which is asserted to lie within
the backoff bounds (full jitter: ``[0, min(cap, base·2^n)]`` after failure ``n``).
"""

from __future__ import annotations

import email
import json
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import Message
from typing import Any

import pytest
import structlog
from sqlalchemy import select

from opsbook.api.state import AppState
from opsbook.flows.outbox import (
    DELIVER_JOB,
    SELF_ALERT,
    TIMELINE_KIND,
    Deliverer,
    RateLimiter,
    queue_page,
)
from opsbook.jobs.worker import Worker
from opsbook.notify.apprise_channel import DELIVERY_HEADER
from opsbook.notify.models import notification_id
from opsbook.storage import jobs, repos
from opsbook.storage.tables import Base, Delivery, Job
from tests.support.app import Harness, am_alert, am_body, running_app
from tests.support.services import WebhookReceiver, free_port

pytest.importorskip("apprise")
SECRET_KEY = "test-link-secret-0123456789abcdef"
CANARY_PW, CANARY_TOKEN = "CanaryPw7731", "CanaryTok4402"


def config_text(contacts: list[str], **notify: str) -> str:
    settings = {
        "base_url": "https://ops.example.com",
        "retry_base": "30s",
        "retry_cap": "10m",
        "dead_letter_after": "1h",
        "send_timeout": "3s",
        **notify,
    }
    quoted = ", ".join(f'"{c}"' for c in contacts)
    return f"""
tenants:
  - {{name: acme, default_service: acme-catchall}}
  - {{name: globex}}
services:
  - {{name: checkout-api, tenant: acme}}
  - {{name: acme-catchall, tenant: acme}}
  - {{name: ledger, tenant: globex}}
routes:
  - {{match: {{job: checkout}}, service: checkout-api}}
users:
  - {{name: alice, tenant: acme, role: commander, contacts: [{quoted}]}}
  - {{name: carmen, tenant: globex, role: commander}}
notify: {{{", ".join(f"{k}: {v}" for k, v in settings.items())}}}
"""


@dataclass
class Env:
    h: Harness
    st: AppState
    deliverer: Deliverer
    worker: Worker
    incident_id: str

    def now(self) -> datetime:
        return self.st.clock.now()

    def page(self, update_seq: int = 1, level: int = 1, user: str = "alice") -> list[Delivery]:
        with self.st.sessions.begin() as s:
            inc = repos.get_incident(s, "acme", self.incident_id)
            return queue_page(
                s,
                self.st.config,
                self.st.settings,
                incident=inc,
                user=user,
                reason="page",
                update_seq=update_seq,
                now=self.now(),
                level=level,
            )

    def delivery(self, delivery_id: str) -> Delivery:
        with self.st.sessions() as s:
            d = s.get(Delivery, delivery_id)
            assert d is not None
            return d

    def run(self) -> int:
        return self.worker.run_once(limit=20)

    def timeline(self, incident_id: str | None = None) -> list[str]:
        with self.st.sessions() as s:
            return [
                e.message
                for e in repos.timeline(s, "acme", incident_id or self.incident_id)
                if e.kind == TIMELINE_KIND
            ]


@contextmanager
def outbox_env(
    url: str, contacts: list[str], *, limiter: RateLimiter | None = None, **notify: str
) -> Iterator[Env]:
    with running_app(
        url, config_text(contacts, **notify), run_worker=False, secret_key=SECRET_KEY
    ) as h:
        st: AppState = h.client.app.state.opsbook  # type: ignore[attr-defined]
        deliverer = Deliverer(st.sessions, lambda: st.config, st.clock, limiter=limiter)
        worker = Worker(st.sessions, st.clock, deliverer.job_kinds())
        body = am_body(am_alert("CheckoutDown", job="checkout", severity="critical"))
        incident_id = h.post_am(body)["incidents"][0]
        yield Env(h, st, deliverer, worker, incident_id)


class Inbox:
    """What the SMTP server accepted (and the logins it saw)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.logins: list[tuple[bytes, bytes]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> Any:
        from aiosmtpd.smtp import AuthResult

        self.logins.append((data.login, data.password))
        return AuthResult(success=data.password == CANARY_PW.encode())


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    port, inbox = free_port(), Inbox()
    controller = controller_mod.Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=inbox.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


@pytest.fixture
def receivers() -> Iterator[Any]:
    made: list[WebhookReceiver] = []

    def make(statuses: tuple[int, ...] = (), default_status: int = 200) -> WebhookReceiver:
        r = WebhookReceiver(statuses, default_status).start()
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _body(msg: Message) -> str:
    payload = msg.get_payload(decode=True)
    return payload.decode() if isinstance(payload, bytes) else str(msg.get_payload())


# ---------------------------------------------------------------------------------------------


def test_email_reaches_a_real_smtp_server(db_url: str, smtp: tuple[int, Inbox]) -> None:
    port, inbox = smtp
    contact = (
        f"mailto://opsbook:{CANARY_PW}@127.0.0.1:{port}"
        "?from=opsbook@example.com&to=alice@example.com&mode=insecure"
    )
    with outbox_env(db_url, [contact]) as env:
        [d] = env.page()
        assert d.id == notification_id(env.incident_id, 1, contact)
        assert (d.status, d.channel, d.attempts) == ("pending", "mailto", 0)
        assert CANARY_PW not in d.contact_display and "opsbook:***@127.0.0.1" in d.contact_display
        assert env.run() == 1
        assert env.delivery(d.id).status == "sent"
        [msg] = inbox.messages
        assert inbox.logins == [(b"opsbook", CANARY_PW.encode())]
        assert msg["Subject"] == "[P0] checkout-api: CheckoutDown summary"
        assert msg[DELIVERY_HEADER] == d.id
        text = _body(msg)
        assert "CheckoutDown summary" in text
        assert f"Open the incident: https://ops.example.com/incidents/{env.incident_id}" in text
        assert "Acknowledge (no login needed): https://ops.example.com/api/v1/links/v1." in text
        assert "Resolve: https://ops.example.com/api/v1/links/v1." in text  # alice is a commander
        assert env.timeline() == [
            "paging alice (level 1) via mailto",
            "notification to alice via mailto, attempt 1: delivered — delivered to "
            f"mailto://opsbook:***@127.0.0.1:{port}?***",
        ]


def test_receiver_down_for_a_while_retries_within_backoff_then_delivers_once(
    db_url: str, receivers: Any
) -> None:
    receiver = receivers(statuses=(503, 503), default_status=200)
    contact = f"json://127.0.0.1:{receiver.port}/hook"
    with outbox_env(db_url, [contact]) as env:
        [d] = env.page()
        base = timedelta(seconds=30)
        for failure in range(2):
            before = env.now()
            assert env.run() == 1
            row = env.delivery(d.id)
            assert (row.status, row.attempts) == ("pending", failure + 1)
            assert "HTTP 503" in (row.last_error or "")
            # full jitter: within [0, base·2^n] of the failure, never later
            assert before <= row.next_attempt_at <= before + base * 2**failure
            if row.next_attempt_at > before:
                assert env.run() == 0, "a retry ran before its time"
            env.h.clock.set(row.next_attempt_at)
        assert env.run() == 1
        row = env.delivery(d.id)
        assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
        # nothing left to do, however long we wait; paging the same update again queues nothing
        env.h.clock.advance(hours=2)
        again = env.page()
        assert [(x.id, x.status) for x in again] == [(d.id, "sent")]
        assert env.run() == 0
        assert [r["status"] for r in receiver.requests] == [503, 503, 200]
        assert {r["headers"].get(DELIVERY_HEADER) for r in receiver.requests} == {d.id}
        delivered = [r for r in receiver.requests if r["status"] == 200]
        assert len(delivered) == 1
        assert json.loads(delivered[0]["json"]["message"])["id"] == d.id
        attempts = [m for m in env.timeline() if "attempt" in m]
        assert [m.split(": ", 1)[0] for m in attempts] == [
            "notification to alice via json, attempt 1",
            "notification to alice via json, attempt 2",
            "notification to alice via json, attempt 3",
        ]
        assert "failed, will retry — HTTP 503" in attempts[0] and "delivered" in attempts[2]


def test_paging_the_same_update_twice_sends_one_message(db_url: str, receivers: Any) -> None:
    receiver = receivers()
    with outbox_env(db_url, [f"json://127.0.0.1:{receiver.port}/hook"]) as env:
        first = env.page(update_seq=1)
        again = env.page(update_seq=1)  # a retried escalation tick
        assert [d.id for d in again] == [d.id for d in first]
        with env.st.sessions() as s:
            assert len(s.scalars(select(Job).where(Job.kind == DELIVER_JOB)).all()) == 1
        assert env.run() == 1
        assert env.timeline().count("paging alice (level 1) via json") == 1
        level2 = env.page(update_seq=2, level=2)  # a new update is a new message with a new id
        assert level2[0].id != first[0].id
        assert env.run() == 1
        assert [r["headers"].get(DELIVERY_HEADER) for r in receiver.requests] == [
            first[0].id,
            level2[0].id,
        ]
        assert json.loads(receiver.requests[1]["json"]["message"])["kind"] == "escalated"


def test_a_400_is_not_retried(db_url: str, receivers: Any) -> None:
    receiver = receivers(default_status=400)
    with outbox_env(db_url, [f"json://127.0.0.1:{receiver.port}/hook"]) as env:
        [d] = env.page()
        assert env.run() == 1
        row = env.delivery(d.id)
        assert (row.status, row.attempts) == ("dead", 1)
        assert "HTTP 400" in (row.last_error or "")
        env.h.clock.advance(hours=3)
        assert env.run() == 0
        assert len(receiver.requests) == 1
        assert any("attempt 1: failed — HTTP 400" in m for m in env.timeline())


def test_dead_letter_after_the_configured_age_raises_an_alert_on_opsbook(
    db_url: str, receivers: Any
) -> None:
    receiver = receivers(default_status=503)
    contact = f"json://127.0.0.1:{receiver.port}/hook"
    with outbox_env(db_url, [contact], dead_letter_after="10m", retry_cap="2m") as env:
        [d] = env.page()
        created = env.now()
        for _ in range(100):
            assert env.run() == 1
            row = env.delivery(d.id)
            if row.status != "pending":
                break
            assert row.next_attempt_at <= created + timedelta(minutes=10)
            env.h.clock.set(row.next_attempt_at)
        assert row.status == "dead" and row.attempts >= 3
        assert env.now() == created + timedelta(minutes=10), "the last try is at the age"
        assert len(receiver.requests) == row.attempts
        assert any("dead-lettered" in m and SELF_ALERT in m for m in env.timeline())
        alarms = [i for i in env.h.incidents("acme") if SELF_ALERT in i["title"]]
        assert len(alarms) == 1 and alarms[0]["severity"] == "P0"
        detail = env.h.incident(alarms[0]["id"])
        labels = detail["alerts"][0]["labels"]
        assert labels["user"] == "alice" and labels["channel"] == "json"
        assert detail["alerts"][0]["annotations"]["summary"].startswith(
            "notifications to alice via json"
        )
        assert env.run() == 0


def test_over_the_rate_limit_a_delivery_waits_and_is_not_a_failure(
    db_url: str, receivers: Any
) -> None:
    receiver = receivers()
    contacts = [f"json://127.0.0.1:{receiver.port}/hook{i}" for i in range(3)]
    with outbox_env(db_url, contacts, limiter=RateLimiter(limit=2)) as env:
        r = env.h.client.patch(  # a P1: the rate limit holds it (a P0 is never held)
            f"/api/v1/incidents/{env.incident_id}", json={"severity": "P1"}, headers=env.h.auth()
        )
        assert r.status_code == 200, r.text
        deliveries = env.page()
        assert len(deliveries) == 3
        env.run()
        rows = [env.delivery(d.id) for d in deliveries]
        assert sorted(r.status for r in rows) == ["pending", "sent", "sent"]
        [held] = [r for r in rows if r.status == "pending"]
        assert held.attempts == 0 and held.last_error is None
        assert env.now() < held.next_attempt_at <= env.now() + timedelta(seconds=61)
        assert len(receiver.requests) == 2
        env.h.clock.set(held.next_attempt_at)
        assert env.run() == 1
        assert env.delivery(held.id).status == "sent"
        assert len(receiver.requests) == 3
        r = env.h.client.patch(
            f"/api/v1/incidents/{env.incident_id}", json={"severity": "P0"}, headers=env.h.auth()
        )
        assert r.status_code == 200, r.text
        assert len(env.page(update_seq=2)) == 3  # the limit is used up, but a P0 goes at once
        assert env.run() == 3
        assert len(receiver.requests) == 6


def test_a_delivery_whose_worker_died_is_sent_again_with_the_same_id(
    db_url: str, receivers: Any
) -> None:
    receiver = receivers()
    with outbox_env(db_url, [f"json://127.0.0.1:{receiver.port}/hook"]) as env:
        [d] = env.page()
        with env.st.sessions.begin() as s:  # a worker claims the job, then is killed -9
            [job] = jobs.claim(s, "dead-worker", env.now(), timedelta(minutes=2))
        env.h.clock.advance(minutes=3)
        assert env.worker.recover() == 1
        assert env.run() == 1
        assert env.delivery(d.id).status == "sent"
        assert [r["headers"].get(DELIVERY_HEADER) for r in receiver.requests] == [d.id]
        with env.st.sessions() as s:
            assert s.get(Job, job.id).status == "done"  # type: ignore[union-attr]


def test_without_a_secret_key_the_message_has_no_action_links_and_says_so(
    tmp_path: Any, smtp: tuple[int, Inbox]
) -> None:
    port, inbox = smtp
    contact = f"mailto://127.0.0.1:{port}?from=opsbook@example.com&to=a@example.com&mode=insecure"
    with running_app(f"sqlite:///{tmp_path}/o.db", config_text([contact]), run_worker=False) as h:
        st: AppState = h.client.app.state.opsbook  # type: ignore[attr-defined]
        deliverer = Deliverer(st.sessions, lambda: st.config, st.clock)
        worker = Worker(st.sessions, st.clock, deliverer.job_kinds())
        iid = h.post_am(am_body(am_alert("CheckoutDown", job="checkout", severity="critical")))[
            "incidents"
        ][0]
        env = Env(h, st, deliverer, worker, iid)
        env.page()
        env.run()
        text = _body(inbox.messages[0])
        assert "/api/v1/links/" not in text
        assert "one-tap acknowledge links are off: the server has no OPSBOOK_SECRET_KEY" in text
        assert "OPSBOOK_SECRET_KEY" in env.timeline()[0]


def test_a_canary_secret_in_a_contact_url_appears_nowhere(
    db_url: str, receivers: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # INFO, the production default: Apprise's own DEBUG lines print request paths (a known gap
    # of notify.apprise_channel, which lets Apprise's log propagate)
    caplog.set_level(logging.INFO)
    flaky = receivers(statuses=(503,), default_status=200)
    refusing = receivers(default_status=400)
    contacts = [
        f"json://bot:{CANARY_PW}@127.0.0.1:{flaky.port}/hook?token={CANARY_TOKEN}",
        f"json://bot:{CANARY_PW}@127.0.0.1:{refusing.port}/{CANARY_TOKEN}/x",
        f"json://bot:{CANARY_PW}@127.0.0.1:{closed_port()}/{CANARY_TOKEN}?token={CANARY_TOKEN}",
    ]
    with structlog.testing.capture_logs() as logs, outbox_env(db_url, contacts) as env:
        deliveries = env.page()
        for _ in range(3):
            env.run()
            env.h.clock.advance(minutes=2)
        statuses = sorted(env.delivery(d.id).status for d in deliveries)
        assert statuses == ["dead", "pending", "sent"]
        # the contacts got what they needed: the secrets reach the receiver, nowhere else
        assert refusing.requests[0]["path"] == f"/{CANARY_TOKEN}/x"
        seen: list[str] = [repr(logs), caplog.text]
        with env.st.sessions() as s:
            for table in Base.metadata.sorted_tables:
                seen += [repr(tuple(row)) for row in s.execute(select(table))]
        for incident in env.h.incidents("acme"):
            r = env.h.client.get(
                f"/api/v1/incidents/{incident['id']}", headers=env.h.auth("acme", "viewer")
            )
            seen.append(r.text)
        seen.append(env.h.client.get("/api/v1/incidents", headers=env.h.auth("acme")).text)
        text = "\n".join(seen)
        assert "via json, attempt 1" in text and SELF_ALERT in text  # we looked at the right data
        assert CANARY_PW not in text and CANARY_TOKEN not in text
