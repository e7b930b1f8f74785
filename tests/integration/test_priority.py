"""Severity first: a P0's tick and message are taken before older P3 work, the rate limit never
holds a P0, and a person with many pending messages gets one digest per contact instead.

The worker is driven by hand (``run_once``) on the production job kinds; messages go to a real
webhook receiver; the clock is the harness's frozen clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from opsbook.api.state import AppState
from opsbook.flows.outbox import DELIVER_JOB, Deliverer, RateLimiter
from opsbook.jobs.kinds import all_job_kinds
from opsbook.jobs.worker import JobKind, Worker
from opsbook.notify.models import notification_id
from opsbook.storage import jobs
from opsbook.storage.db import make_engine, make_sessionmaker
from opsbook.storage.tables import Delivery, Job
from opsbook.testing import FrozenClock
from tests.support.app import Harness, am_alert, am_body, migrated, running_app
from tests.support.services import WebhookReceiver

pytest.importorskip("apprise")

STORM = 5000  # P3 messages pending behind the rate limit


def config_text(hook: str, contacts: int = 1) -> str:
    urls = ", ".join(f'"json://{hook}/alice-{i}"' for i in range(contacts))
    return f"""
tenants: [{{name: acme}}]
users:
  - name: alice
    tenant: acme
    role: responder
    contacts: [{urls}]
    notify: [{{severities: [P0, P1, P2, P3], channels: all}}]
escalation_policies:
  - {{name: platform, tenant: acme, steps: [{{notify: {{users: [alice]}}}}]}}
services:
  - {{name: checkout-api, tenant: acme, escalation_policy: platform}}
  - {{name: search, tenant: acme, escalation_policy: platform}}
routes:
  - {{match: {{job: checkout}}, service: checkout-api}}
  - {{match: {{job: search}}, service: search}}
severity_map: {{critical: P0, info: P3}}
"""


@dataclass
class Env:
    h: Harness
    st: AppState
    rx: WebhookReceiver
    worker: Worker

    def open(self, job: str, severity: str, names: list[str]) -> list[str]:
        alerts = [am_alert(n, job=job, severity=severity) for n in names]
        ids: list[str] = self.h.post_am(am_body(*alerts))["incidents"]
        assert len(set(ids)) == len(names)
        return ids

    def titles(self) -> list[tuple[str, str]]:
        """(path, title) of every message received, in order."""
        return [(r["path"], r["json"]["title"]) for r in self.rx.requests]


@contextmanager
def env(url: str, contacts: int = 1, limiter: RateLimiter | None = None) -> Iterator[Env]:
    with (
        WebhookReceiver() as rx,
        running_app(url, config_text(rx.target, contacts), run_worker=False) as h,
    ):
        st: AppState = h.client.app.state.opsbook  # type: ignore[attr-defined]
        kinds = all_job_kinds(
            st.sessions, lambda: st.config, lambda: st.catalog, st.settings, st.clock
        )
        if limiter is not None:
            kinds.update(
                Deliverer(st.sessions, lambda: st.config, st.clock, limiter=limiter).job_kinds()
            )
        yield Env(h, st, rx, Worker(st.sessions, st.clock, kinds))


def test_the_queue_takes_p0_first_then_by_due_time_and_lanes_apart(db_url: str) -> None:
    migrated(db_url)
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    clock = FrozenClock()
    ran: list[str] = []
    kinds = {"note": JobKind(run=lambda p: ran.append(str(p["n"])), on_expired=lambda _s, _j: True)}
    t0 = clock.now()
    try:
        with sessions.begin() as s:
            rows = [
                jobs.job_row(
                    "acme", "note", {"n": f"p3-{i}"}, t0 - timedelta(minutes=10 - i), priority=3
                )
                for i in range(300)
            ]
            rows.append(
                jobs.job_row("acme", "note", {"n": "p1"}, t0 - timedelta(minutes=1), priority=1)
            )
            rows.append(
                jobs.job_row("acme", "note", {"n": "p0-page"}, t0, priority=0, lane=jobs.PAGE_LANE)
            )
            rows.append(
                jobs.job_row(
                    "acme", "note", {"n": "p0-work"}, t0 - timedelta(seconds=1), priority=0
                )
            )
            rows.append(  # due later: not ready, however severe
                jobs.job_row("acme", "note", {"n": "p0-later"}, t0, priority=0)
                | {"run_after": t0 + timedelta(minutes=5)}
            )
            s.execute(insert(Job), rows)
        page_only = Worker(sessions, clock, kinds, name="pager", lanes=[jobs.PAGE_LANE])
        assert page_only.run_once(limit=10) == 1  # the page lane holds one ready job
        assert ran == ["p0-page"]
        w = Worker(sessions, clock, kinds, name="any")
        assert w.run_once(limit=4) == 4
        assert ran[1:] == ["p0-work", "p1", "p3-0", "p3-1"]
        with pytest.raises(ValueError, match="lanes"):
            Worker(sessions, clock, kinds, lanes=["fast"])
    finally:
        engine.dispose()


def test_a_new_p0_tick_and_page_go_before_older_p3_ones(db_url: str) -> None:
    with env(db_url) as e:
        e.open("search", "info", [f"Slow{i}" for i in range(30)])  # 30 P3 ticks queued
        e.h.clock.advance(minutes=1)
        (p0,) = e.open("checkout", "critical", ["CheckoutDown"])
        e.h.clock.advance(seconds=1)
        assert e.worker.run_once(limit=2) == 2  # the P0's tick, then its message
        assert e.titles() == [("/alice-0", "P0 checkout-api: CheckoutDown summary")]
        with e.st.sessions() as s:
            waiting = s.scalar(
                select(func.count()).where(
                    Job.status == "queued",
                    Job.priority == 3,
                    Job.kind != "retention.purge",  # the hourly purge waits at P3 too
                )
            )
        assert waiting == 30  # the older P3 ticks are all still waiting
        assert p0


def test_with_5000_p3_messages_held_by_the_rate_limit_a_p0_goes_out_at_once(db_url: str) -> None:
    limiter = RateLimiter(limit=30)
    with env(db_url, limiter=limiter) as e:
        p3 = e.open("search", "info", [f"Storm{i}" for i in range(10)])
        assert e.worker.run_once(limit=10) == 10  # their ticks: 10 P3 messages queued
        now = e.h.clock.now()
        for _ in range(30):  # the channel's limit is used up by what went out this minute
            assert limiter.acquire("json", now) is None
        with e.st.sessions.begin() as s:  # and the storm goes on: 5,000 more P3 messages
            template = s.scalars(select(Delivery).where(Delivery.incident_id == p3[0])).one()
            columns = [c.name for c in Delivery.__table__.columns]
            rows = [
                {c: getattr(template, c) for c in columns}
                | {
                    "id": notification_id(p3[k % 10], 1000 + k, "alice-0"),
                    "incident_id": p3[k % 10],
                }
                for k in range(STORM)
            ]
            s.execute(insert(Delivery), rows)
            s.execute(
                insert(Job),
                [
                    jobs.job_row(
                        "acme",
                        DELIVER_JOB,
                        {"delivery_id": r["id"], "attempt": 0},
                        now,
                        priority=3,
                        lane=jobs.PAGE_LANE,
                        incident_id=r["incident_id"],
                    )
                    for r in rows
                ],
            )
        e.h.clock.advance(seconds=5)
        (p0,) = e.open("checkout", "critical", ["CheckoutDown"])
        assert e.worker.run_once(limit=2) == 2  # its tick and its message, nothing in between
        assert e.titles() == [("/alice-0", "P0 checkout-api: CheckoutDown summary")]
        with e.st.sessions() as s:
            page = s.scalars(select(Delivery).where(Delivery.incident_id == p0)).one()
            assert page.status == "sent" and page.sent_at == e.h.clock.now()

        # the P3s are not sent one by one for hours: they fold into one digest, which waits
        # for the rate limit (the P0 counted against it) and then goes out as one message
        while e.worker.run_once(limit=50):
            pass
        assert len(e.rx.requests) == 1
        e.h.clock.advance(minutes=1, seconds=2)
        while e.worker.run_once(limit=50):
            pass
        assert e.titles()[1:] == [("/alice-0", "10 incidents on search: 10 P3")]
        digest = json.loads(e.rx.requests[1]["json"]["message"])
        assert digest["kind"] == "digest" and digest["p0_sent_alone"] == 0
        assert digest["count"] == 10 and digest["more"] == 0 and len(digest["incidents"]) == 10
        with e.st.sessions() as s:
            left = dict(
                s.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
            )
            queued = s.scalar(
                select(func.count()).where(Job.status == "queued", Job.kind == DELIVER_JOB)
            )
        assert left == {"sent": 2, "digested": STORM + 10}
        assert queued == 0  # the folded messages' own attempts were retired with them


def test_a_person_gets_one_digest_per_contact_and_the_p0_on_its_own(db_url: str) -> None:
    with env(db_url, contacts=2) as e:
        e.open("checkout", "info", [f"Slow{i}" for i in range(36)])
        (p0,) = e.open("checkout", "critical", ["CheckoutDown"])
        while e.worker.run_once(limit=50):
            pass
        got = e.titles()
        for contact in ("/alice-0", "/alice-1"):
            mine = [t for p, t in got if p == contact]
            assert mine == [
                "P0 checkout-api: CheckoutDown summary",
                "37 incidents on checkout-api: 1 P0 sent on its own, 36 P3",
            ]
        bodies = [json.loads(r["json"]["message"]) for r in e.rx.requests]
        digest = next(b for b in bodies if b.get("kind") == "digest")
        assert digest["by_severity"] == {"P3": 36} and digest["p0_sent_alone"] == 1
        assert all(i["severity"] == "P3" for i in digest["incidents"])
        assert digest["incidents"][0]["link"].endswith(f"/incidents/{digest['incidents'][0]['id']}")
        timeline = [m["message"] for m in e.h.incident(digest["incidents"][0]["id"])["timeline"]]
        assert any("joins a digest of 36 messages" in m for m in timeline), timeline
        assert p0
