"""Acknowledging fences escalation: an acknowledgement that commits before a tick means that tick
pages nobody, and a page queued before the acknowledgement is not sent after it.

The race test runs an acknowledgement against the first tick (level 1) of the same incident
from two threads, as many times as fit in a bounded time (up to ``RACES``), on SQLite and on
PostgreSQL, while separate processes burn both CPUs. Both sides use the production wiring
(``jobs.kinds.all_job_kinds``: the escalation tick queues real deliveries through the outbox);
the deliveries left over are then run through the real ``Deliverer`` to a real webhook receiver.
"""

from __future__ import annotations

import itertools
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from opsbook.api.state import AppState
from opsbook.flows.incidents import acknowledge
from opsbook.flows.outbox import queue_page
from opsbook.jobs.kinds import all_job_kinds
from opsbook.storage import repos
from opsbook.storage.tables import Delivery, Escalation, TimelineEntry
from tests.support.app import Harness, am_alert, am_body, running_app
from tests.support.services import WebhookReceiver

pytest.importorskip("apprise")

RACES = int(os.environ.get("OPSBOOK_FENCE_RACES", "3000"))  # races per backend at most
# bound on racing (and opening the incidents raced) per backend; raise it for a longer soak
RACE_SECONDS = float(os.environ.get("OPSBOOK_FENCE_RACE_SECONDS", "8"))
MIN_RACES = 60  # fewer than this means the machine is too slow to say anything
SWITCH_INTERVAL = 0.0005  # s: the interpreter switches threads often, so the sides interleave
SETUP_BATCH = 200  # incidents opened (one intake request), then raced, per round
BURNERS = 2  # busy processes while racing: one per core here
# acker/ticker pairs racing at once, as several workers would: SQLite writes one at a time
# anyway (more pairs only wait for its lock), PostgreSQL works on several at once
PAIRS = {"sqlite": 1, "postgresql": 3}


def config_text(hook: str) -> str:
    return f"""
tenants: [{{name: acme}}]
users:
  - {{name: alice, tenant: acme, role: responder, contacts: ["json://{hook}/alice"]}}
  - {{name: lead, tenant: acme, role: commander, contacts: ["json://{hook}/lead"]}}
severities: {{P0: {{ack_within: 5m}}}}
escalation_policies:
  - name: platform
    tenant: acme
    steps: [{{notify: {{users: [alice]}}}}, {{after: 1h, notify: {{users: [lead]}}}}]
services: [{{name: api, tenant: acme, escalation_policy: platform}}]
routes: [{{match: {{job: api}}, service: api}}]
notify: {{send_timeout: 3s}}
"""


@contextmanager
def cpu_burner(seconds: float, processes: int = BURNERS) -> Iterator[None]:
    """``processes`` separate processes spinning for at most ``seconds`` (stopped on exit)."""
    code = f"import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass\n"
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(processes)]
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(10)


@dataclass
class Race:
    """What each side saw, per incident: monotonic ns when the ack committed / the tick began."""

    ack_committed: dict[str, int] = field(default_factory=dict)
    tick_started: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def open_incidents(h: Harness, n: int) -> list[str]:
    """``n`` new P0 incidents (one intake request), each with its first tick queued."""
    first = next(_names)
    alerts = [am_alert(f"Race{first}x{i}", job="api", severity="critical") for i in range(n)]
    ids: list[str] = h.post_am(am_body(*alerts))["incidents"]
    assert len(set(ids)) == n
    return ids


_names = itertools.count()


def race(
    st: AppState,
    kinds: dict[str, Any],
    incidents: list[str],
    seed: int,
    deadline: float,
    out: Race,
) -> None:
    """Race an acknowledgement against the first tick of each incident (which pages level 1).

    A third of the ticks start the moment the ack's commit returns (the tightest "after"); the
    rest start a random few milliseconds before, during or after the ack's transaction, so both
    orders and every overlap in between happen.
    """
    rng = random.Random(seed)
    plan = [None if rng.random() < 1 / 3 else rng.uniform(-0.003, 0.009) for _ in incidents]
    gate = threading.Barrier(2)
    committed = [threading.Event() for _ in incidents]
    tick = kinds["escalate"].run
    stop = threading.Event()

    def acker() -> None:
        for i, inc in enumerate(incidents):
            gate.wait()
            if stop.is_set():
                return
            delay = plan[i]
            if delay is not None and delay < 0:
                time.sleep(-delay)
            try:
                with st.sessions.begin() as s:
                    acknowledge(s, "acme", inc, "alice", st.clock.now())
                out.ack_committed[inc] = time.monotonic_ns()
            except Exception as exc:
                out.errors.append(f"ack {inc}: {type(exc).__name__}: {exc}"[:300])
            committed[i].set()

    def ticker() -> None:
        for i, inc in enumerate(incidents):
            if time.monotonic() > deadline:
                stop.set()
            gate.wait()
            if stop.is_set():
                return
            delay = plan[i]
            if delay is None:
                committed[i].wait(30)
            elif delay > 0:
                time.sleep(delay)
            out.tick_started[inc] = time.monotonic_ns()
            try:
                tick({"incident_id": inc, "token": 1})
            except Exception as exc:
                out.errors.append(f"tick {inc}: {type(exc).__name__}: {exc}"[:300])
            committed[i].wait(30)  # one race at a time

    threads = [threading.Thread(target=acker), threading.Thread(target=ticker)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(RACE_SECONDS + 60)
            assert not t.is_alive(), "a racing thread hung"
    finally:
        sys.setswitchinterval(interval)


def test_an_acknowledgement_fences_every_later_tick_under_cpu_stress(db_url: str) -> None:
    with (
        WebhookReceiver() as rx,
        running_app(db_url, config_text(rx.target), run_worker=False) as h,
    ):
        st: AppState = h.client.app.state.opsbook  # type: ignore[attr-defined]
        kinds = all_job_kinds(
            st.sessions, lambda: st.config, lambda: st.catalog, st.settings, st.clock
        )
        seen, setup = Race(), 0.0
        incidents: list[str] = []
        n = int(os.environ.get("OPSBOOK_FENCE_PAIRS", PAIRS[db_url.split(":")[0].split("+")[0]]))
        with cpu_burner(RACE_SECONDS + 30):
            t1 = time.monotonic()
            deadline = t1 + RACE_SECONDS
            while len(incidents) < RACES and time.monotonic() < deadline:
                t0 = time.monotonic()
                batch = open_incidents(h, SETUP_BATCH)  # each has its first tick due: level 1
                setup += time.monotonic() - t0
                pairs = [
                    threading.Thread(
                        target=race,
                        args=(st, kinds, batch[k::n], len(incidents) + k, deadline, seen),
                    )
                    for k in range(n)
                ]
                for p in pairs:
                    p.start()
                for p in pairs:
                    p.join(RACE_SECONDS + 90)
                incidents += batch
            racing = time.monotonic() - t1 - setup

        assert not seen.errors, f"{len(seen.errors)} failures, e.g. {seen.errors[:3]}"
        raced = [i for i in incidents if i in seen.tick_started and i in seen.ack_committed]

        with st.sessions() as s:
            pages = {
                d.incident_id: d
                for d in s.scalars(select(Delivery).where(Delivery.user_name == "alice"))
            }
            escalations = {e.incident_id: e for e in s.scalars(select(Escalation))}
            entries: dict[str, list[TimelineEntry]] = {}
            for e in s.scalars(select(TimelineEntry).order_by(TimelineEntry.id)):
                entries.setdefault(e.incident_id, []).append(e)

        after_ack, out_of_order, bad_state = [], [], []
        for inc in raced:
            tl = entries[inc]
            ack_at = next(k for k, e in enumerate(tl) if e.kind == "acknowledged")
            fired = [k for k, e in enumerate(tl) if e.kind == "escalation"]
            paged = inc in pages
            if seen.tick_started[inc] > seen.ack_committed[inc] and (paged or fired):
                after_ack.append(inc)  # the tick began after the ack was committed, yet paged
            if paged != bool(fired) or any(k > ack_at for k in fired):
                out_of_order.append(inc)  # the timeline shows the page after the ack
            state = escalations[inc].state
            if not (
                escalations[inc].done_reason == "acknowledged"
                and state["acknowledged"]
                and state["level"] == (1 if paged else 0)
            ):
                bad_state.append((inc, escalations[inc].done_reason, state))

        won = sum(1 for i in raced if i in pages)
        later = sum(1 for i in raced if seen.tick_started[i] > seen.ack_committed[i])
        print(
            f"\n{db_url.split(':')[0]}: {len(raced)} races in {racing:.1f}s (setup {setup:.1f}s): "
            f"tick paged first {won}, fenced {len(raced) - won} "
            f"(of which {later} ticks began after the ack had committed)"
        )
        assert not after_ack, f"{len(after_ack)} ticks that began after the ack paged alice"
        assert not out_of_order, f"{len(out_of_order)} timelines show a page after the ack"
        assert not bad_state, f"{len(bad_state)} escalations lost the ack, e.g. {bad_state[:2]}"
        assert len(raced) >= MIN_RACES, f"only {len(raced)} races in {racing:.1f}s"
        assert 0 < won < len(raced), "the race never went both ways: it tested nothing"

        # every page that was queued came before the ack: none of them may go out now
        deliver = kinds["deliver"].run
        for d in list(pages.values())[:200]:
            deliver({"delivery_id": d.id, "attempt": 0})
        assert [r["path"] for r in rx.requests] == [], "a page went out after the ack"
        with st.sessions() as s:
            d = next(iter(pages.values()))
            assert s.get(Delivery, d.id).status == "cancelled"  # type: ignore[union-attr]
            notes = [e.message for e in repos.timeline(s, "acme", str(d.incident_id))]
        assert any("not sent" in m and "acknowledged" in m for m in notes), notes


def test_a_page_queued_before_the_ack_is_not_sent_after_it_but_an_update_is(
    db_url: str,
) -> None:
    with (
        WebhookReceiver() as rx,
        running_app(db_url, config_text(rx.target), run_worker=False) as h,
    ):
        st: AppState = h.client.app.state.opsbook  # type: ignore[attr-defined]
        kinds = all_job_kinds(
            st.sessions, lambda: st.config, lambda: st.catalog, st.settings, st.clock
        )
        (inc,) = open_incidents(h, 1)
        kinds["escalate"].run({"incident_id": inc, "token": 1})  # level 1: alice, queued
        with st.sessions() as s:
            (page,) = s.scalars(select(Delivery).where(Delivery.incident_id == inc)).all()
        r = h.client.post(
            f"/api/v1/incidents/{inc}/acknowledge", headers=h.auth("acme", "responder")
        )
        assert r.status_code == 200, r.text
        with st.sessions.begin() as s:  # a note to the commander about the incident, after the ack
            (note,) = queue_page(
                s,
                st.config,
                st.settings,
                incident=repos.get_incident(s, "acme", inc),
                user="lead",
                reason="update",
                update_seq=99,
                now=st.clock.now(),
            )
        kinds["deliver"].run({"delivery_id": page.id, "attempt": 0})
        kinds["deliver"].run({"delivery_id": note.id, "attempt": 0})
        assert [r["path"] for r in rx.requests] == ["/lead"]  # the update went, the page did not
        with st.sessions() as s:
            assert s.get(Delivery, page.id).status == "cancelled"  # type: ignore[union-attr]
            assert s.get(Delivery, note.id).status == "sent"  # type: ignore[union-attr]
        timeline = [e["message"] for e in h.incident(inc)["timeline"]]
        assert any("alice" in m and "not sent" in m and "acknowledged" in m for m in timeline)
