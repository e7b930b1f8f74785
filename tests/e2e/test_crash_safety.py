"""Crash safety of intake (DESIGN §6.1–6.3) against a real ``opsbook serve`` process.

A 2xx from an intake route means the alert is committed: a ``kill -9`` mid-burst loses nothing
that was acknowledged, a retry of anything never doubles it, and while PostgreSQL is down the
server answers 503 + Retry-After (what Alertmanager retries), then recovers by itself.

Every alert of a burst is distinct (``instance`` label) and belongs to one of ten alertnames,
so the store should end with ten incidents on the tenant's catch-all service, each holding its
alerts exactly once. The checks go through the public API, as an operator would look.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.support.app import am_alert, am_body
from tests.support.server import OpsbookServer, wait_until
from tests.support.services import PostgresServer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

GROUPS = 10  # alertnames per burst → incidents expected
SERVICE = "acme-catchall"  # job=crash matches no route: the tenant's default service


def _alert_name(prefix: str, i: int) -> str:
    return f"{prefix}{i % GROUPS}"


def _instance(i: int) -> str:
    return f"host-{i:05d}"


def _body(prefix: str, i: int) -> dict[str, Any]:
    return am_body(
        am_alert(_alert_name(prefix, i), job="crash", severity="warning", instance=_instance(i))
    )


def _tokens(srv: OpsbookServer) -> tuple[str, str]:
    t = srv.create_tokens(
        {
            "intake": {"tenant": "acme", "integration": "alertmanager"},
            "viewer": {"tenant": "acme", "role": "viewer"},
        }
    )
    return t["intake"], t["viewer"]


def stored_instances(srv: OpsbookServer, viewer: str, prefix: str) -> Counter[str]:
    """How often each ``instance`` of the burst is stored, read through the API.

    Also proves there is exactly one incident per alertname (retries and races never open a
    second one) and that each incident's ``alert_count`` matches the alerts it lists.
    """
    incidents = [
        i
        for i in srv.incidents(viewer, service=SERVICE)
        if str(i["group_labels"].get("alertname", "")).startswith(prefix)
    ]
    per_name = Counter(i["group_labels"]["alertname"] for i in incidents)
    doubled = {name: n for name, n in per_name.items() if n > 1}
    assert not doubled, f"duplicate incidents for one alert group: {doubled}"
    seen: Counter[str] = Counter()
    for inc in incidents:
        detail = srv.incident(viewer, inc["id"])
        assert detail["status"] == "triggered"
        assert detail["alert_count"] == len(detail["alerts"]), detail["id"]
        for a in detail["alerts"]:
            assert a["alertname"] == inc["group_labels"]["alertname"]
            seen[a["labels"]["instance"]] += 1
    return seen


def assert_exactly_once(
    seen: Counter[str], must_have: Iterable[int], may_have: Iterable[int]
) -> None:
    must = {_instance(i) for i in must_have}
    allowed = must | {_instance(i) for i in may_have}
    doubled = sorted(k for k, n in seen.items() if n > 1)
    assert not doubled, f"{len(doubled)} alerts stored more than once, e.g. {doubled[:5]}"
    lost = sorted(must - set(seen))
    assert not lost, f"{len(lost)} acknowledged alerts lost, e.g. {lost[:5]}"
    strange = sorted(set(seen) - allowed)
    assert not strange, f"alerts stored that were never sent: {strange[:5]}"


def repost(
    srv: OpsbookServer, intake: str, prefix: str, indices: Iterable[int], workers: int = 4
) -> int:
    """Re-send ``indices`` (as Alertmanager retries), ``workers`` at a time; each must get a 2xx."""
    todo = list(indices)

    def run(part: list[int]) -> int:
        with srv.client(intake) as c:
            for i in part:
                r = c.post("/api/v1/integrations/alertmanager", json=_body(prefix, i))
                assert r.status_code == 200, (i, r.status_code, r.text)
        return len(part)

    with ThreadPoolExecutor(workers) as pool:
        return sum(pool.map(run, [todo[k::workers] for k in range(workers)]))


# ------------------------------------------------------------------------------------------
# SIGKILL mid-burst (SQLite)

BURST = 2000
SENDERS = 4
KILL_AFTER_ACKS = 600  # roughly a third of the burst
BURST_SECONDS = 60.0  # hard bound on the sending loop


def test_sigkill_mid_burst_loses_no_acknowledged_alert_sqlite(tmp_path: Any) -> None:
    prefix = "CrashBurst"
    with OpsbookServer(tmpdir=tmp_path / "srv") as srv:
        intake, viewer = _tokens(srv)
        outcome: dict[int, str] = {}  # index → "ok" | "http-<status>" | exception class name
        lock = threading.Lock()
        acked = threading.Semaphore(0)
        deadline = time.monotonic() + BURST_SECONDS

        def send(indices: list[int]) -> None:
            with httpx.Client(
                base_url=srv.url, headers={"Authorization": f"Bearer {intake}"}, timeout=10.0
            ) as c:
                for i in indices:
                    if time.monotonic() > deadline:
                        return
                    try:
                        r = c.post("/api/v1/integrations/alertmanager", json=_body(prefix, i))
                        result = "ok" if r.status_code == 200 else f"http-{r.status_code}"
                    except httpx.HTTPError as exc:
                        result = type(exc).__name__
                    with lock:
                        outcome[i] = result
                    if result == "ok":
                        acked.release()

        senders = [
            threading.Thread(target=send, args=(list(range(k, BURST, SENDERS)),), daemon=True)
            for k in range(SENDERS)
        ]
        started = time.monotonic()
        for t in senders:
            t.start()
        for _ in range(KILL_AFTER_ACKS):
            assert acked.acquire(timeout=30), (
                f"intake stalled before {KILL_AFTER_ACKS} acks\n{srv.log_tail()}"
            )
        srv.kill()
        killed_at = time.monotonic() - started
        for t in senders:
            t.join(BURST_SECONDS)
            assert not t.is_alive(), "a sender did not finish in time"

        ok = sorted(i for i, r in outcome.items() if r == "ok")
        failed = sorted(set(range(BURST)) - set(ok))
        kinds = Counter(r for r in outcome.values())
        print(
            f"\nburst: killed after {killed_at:.2f}s; {len(ok)} acked, {len(failed)} not; outcomes {dict(kinds)}"
        )
        assert KILL_AFTER_ACKS <= len(ok) < BURST, "the kill did not land mid-burst"
        assert not [k for k in kinds if k.startswith("http-")], (
            f"non-2xx answers before the kill: {kinds}"
        )

        t0 = time.monotonic()
        srv.start()
        print(f"restart on the same database: ready in {time.monotonic() - t0:.2f}s")

        seen = stored_instances(srv, viewer, prefix)
        # in-flight posts may have committed without their answer arriving: allowed, once
        assert_exactly_once(seen, must_have=ok, may_have=outcome)
        print(f"after restart: {len(seen)} stored ({len(seen) - len(ok)} committed but unanswered)")

        t0 = time.monotonic()
        n = repost(srv, intake, prefix, failed)
        print(f"re-posted {n} unacknowledged alerts in {time.monotonic() - t0:.2f}s")
        seen = stored_instances(srv, viewer, prefix)
        assert_exactly_once(seen, must_have=range(BURST), may_have=())
        assert len(seen) == BURST

        # and a retry of something already acknowledged changes nothing either
        repost(srv, intake, prefix, ok[:50])
        assert stored_instances(srv, viewer, prefix) == seen
        assert len(srv.incidents(viewer, service=SERVICE)) == GROUPS


# ------------------------------------------------------------------------------------------
# PostgreSQL outage during ingest

OUTAGE_MIN_SECONDS = 3.0
TOKEN_CACHE_SECONDS = "1"  # shorter than the outage: token lookups must hit the down database too
LOAD_MAX_POSTS = 6000
LOAD_RATE = 150.0  # posts/s per sender: enough to see many 503s, bounded
LOAD_SECONDS = 90.0


class _Load:
    """Single-alert posts from two threads at a bounded rate, recording every answer."""

    def __init__(self, srv: OpsbookServer, intake: str, prefix: str) -> None:
        self.srv, self.intake, self.prefix = srv, intake, prefix
        self.lock = threading.Lock()
        self.results: list[
            tuple[float, int, str | int, str | None]
        ] = []  # (t, i, status, retry-after)
        self.stop = threading.Event()
        self._next = 0
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(2)]

    def _take(self) -> int | None:
        with self.lock:
            if self._next >= LOAD_MAX_POSTS:
                return None
            self._next += 1
            return self._next - 1

    def _run(self) -> None:
        deadline = time.monotonic() + LOAD_SECONDS
        with self.srv.client(self.intake, timeout=15.0) as c:
            while not self.stop.is_set() and time.monotonic() < deadline:
                i = self._take()
                if i is None:
                    return
                t = time.monotonic()
                try:
                    r = c.post("/api/v1/integrations/alertmanager", json=_body(self.prefix, i))
                    status: str | int = r.status_code
                    retry_after = r.headers.get("retry-after")
                except httpx.HTTPError as exc:
                    status, retry_after = type(exc).__name__, None
                with self.lock:
                    self.results.append((t, i, status, retry_after))
                pause = 1 / LOAD_RATE - (time.monotonic() - t)
                if pause > 0:
                    time.sleep(pause)  # pacing, not waiting for a timer

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def finish(self) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(30)
            assert not t.is_alive(), "load thread did not stop"

    def count(self, status: int | str, since: float = 0.0) -> int:
        with self.lock:
            return sum(1 for t, _, s, _ in self.results if s == status and t >= since)

    def snapshot(self) -> list[tuple[float, int, str | int, str | None]]:
        with self.lock:
            return list(self.results)


@pytest.mark.postgres
def test_postgres_outage_answers_503_then_recovers_without_restart(
    postgres_server: PostgresServer, postgres_db: str, tmp_path: Any
) -> None:
    prefix = "PgOutage"
    with OpsbookServer(
        database_url=postgres_db,
        tmpdir=tmp_path / "srv",
        env={"OPSBOOK_TOKEN_CACHE_SECONDS": TOKEN_CACHE_SECONDS},
    ) as srv:
        intake, viewer = _tokens(srv)
        load = _Load(srv, intake, prefix)
        load.start()
        try:
            wait_until(
                lambda: load.count(200) >= 100,
                30,
                what="100 acks before the outage",
                describe=srv.log_tail,
            )
            with postgres_server.stopped():
                down = time.monotonic()
                wait_until(
                    lambda: load.count(503, since=down),
                    20,
                    what="a 503 from intake while PostgreSQL is down",
                    describe=srv.log_tail,
                )
                first_503 = time.monotonic() - down
                r = srv.get("/readyz")
                assert r.status_code == 503, r.text
                assert r.headers.get("retry-after")
                assert srv.get("/healthz").status_code == 200  # alive, just not ready
                wait_until(
                    lambda: (
                        time.monotonic() - down >= OUTAGE_MIN_SECONDS
                        and load.count(503, since=down) >= 50
                    ),
                    30,
                    what="a few seconds of outage",
                )
                print(
                    f"\noutage: first 503 {first_503:.2f}s after PostgreSQL stopped; "
                    f"down for {time.monotonic() - down:.2f}s"
                )
            up = time.monotonic()
            wait_until(
                lambda: srv.get("/readyz").status_code == 200,
                30,
                what="/readyz 200 again",
                describe=srv.log_tail,
            )
            wait_until(
                lambda: load.count(200, since=up) >= 100,
                30,
                what="100 acks after PostgreSQL came back",
                describe=srv.log_tail,
            )
            print(f"recovered: 100 acks {time.monotonic() - up:.2f}s after PostgreSQL was back")
        finally:
            load.finish()

        assert srv.running and srv.starts == 1, "opsbook must recover without a restart"
        results = load.snapshot()
        statuses = Counter(s for _, _, s, _ in results)
        print(f"answers: {dict(statuses)}")
        assert set(statuses) <= {200, 503}, (
            f"only 2xx or 503 are acceptable during an outage: {statuses}"
        )
        assert statuses[503] >= 1
        missing_retry = [
            i for _, i, s, ra in results if s == 503 and not (ra and ra.isdigit() and int(ra) > 0)
        ]
        assert not missing_retry, f"503 without a usable Retry-After for {len(missing_retry)} posts"

        ok = sorted(i for _, i, s, _ in results if s == 200)
        sent = {i for _, i, _, _ in results}
        failed = sorted(sent - set(ok))
        seen = stored_instances(srv, viewer, prefix)
        assert_exactly_once(seen, must_have=ok, may_have=sent)
        repost(srv, intake, prefix, failed)
        seen = stored_instances(srv, viewer, prefix)
        assert_exactly_once(seen, must_have=sent, may_have=())
        assert len(seen) == len(sent)
