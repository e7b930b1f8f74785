"""Alert storm: does the P0 still reach a person within seconds, and how many messages do they get?

One real ``opsbook serve`` (SQLite, then PostgreSQL 15) pages one person through a real webhook
receiver (a ``json://`` contact). In the first seconds 10,000 alerts spread over 2,000 alertnames
arrive on one service (ten requests of 1,000, the per-request limit); then one P0 arrives every
5 s for a minute. Printed per target:

  P0 first delivery   p50 / p99 / max from the P0's intake request to its first webhook POST
  messages received   every POST the person's webhook got (storm pages, digests, P0 pages)
  storm stored        seconds from the first storm request to the last one answered 2xx
                      (a 2xx means committed), checked against the API's alert counts

Usage: ``.venv/bin/python bench/storm.py`` (both targets, ~3 min) or ``--quick`` (2,000 alerts
over 400 alertnames, a P0 every 2 s for 10 s); ``--targets sqlite``, ``--json FILE``.
Everything listens on 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from common import percentile
from tests.support.server import OpsbookServer
from tests.support.services import HOST, PostgresServer, ServiceUnavailable

ALL_TARGETS = ("sqlite", "postgres")
INTAKE = "/api/v1/integrations/alertmanager"


def config(hook: str) -> str:
    """One person on call for one service; the storm correlation is opsbook's default."""
    return f"""
tenants: [{{name: acme}}]
users:
  - {{name: alice, tenant: acme, role: responder, contacts: ["json://{hook}/alice"]}}
schedules:
  - name: primary
    tenant: acme
    rotation: {{every: 1w, handoff: "Mon 09:00", participants: [alice]}}
escalation_policies:
  - {{name: platform, tenant: acme, steps: [{{notify: {{schedule: primary}}}}]}}
services: [{{name: checkout-api, tenant: acme, escalation_policy: platform}}]
routes: [{{match: {{job: checkout}}, service: checkout-api}}]
severity_map: {{critical: P0, warning: P2, info: P3}}
"""


class Receiver:
    """A webhook receiver that timestamps every POST (monotonic clock, like the sender's)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.got: list[tuple[float, str, bytes]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with owner.lock:
                    owner.got.append((time.monotonic(), self.path, raw))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def target(self) -> str:
        return f"{HOST}:{self.server.server_address[1]}"

    def first_with(self, needle: str) -> float | None:
        """When the first POST whose body mentions ``needle`` arrived."""
        data = needle.encode()
        with self.lock:
            return next((t for t, _, raw in self.got if data in raw), None)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Plan:
    alerts: int = 10_000
    alertnames: int = 2_000
    per_request: int = 1_000
    p0_every: float = 5.0
    p0_for: float = 60.0
    settle: float = 10.0  # after the last P0: late messages still count


@dataclass
class Result:
    target: str
    storm_alerts: int
    storm_stored_s: float
    stored_checked: int
    p0s: int
    p0_delivered: int
    p0_p50_s: float
    p0_p99_s: float
    p0_max_s: float
    p0_accepted_p99_s: float
    p0_latencies_s: list[float]  # in arrival order (None: never delivered)
    messages: int
    p0_messages: int
    other_titles: list[str]  # what the person got besides the P0 pages
    incidents: int
    errors: list[str] = field(default_factory=list)


def storm_bodies(plan: Plan) -> list[dict[str, Any]]:
    """The storm: ``alerts`` alerts, ``alerts / alertnames`` instances of each alertname."""
    per_name = max(1, plan.alerts // plan.alertnames)
    alerts = [
        {
            "status": "firing",
            "labels": {
                "alertname": f"Storm{n:04d}",
                "job": "checkout",
                "severity": "warning" if n % 10 == 0 else "info",
                "instance": f"host-{i}",
            },
            "annotations": {"summary": f"storm alert {n}"},
        }
        for n in range(plan.alertnames)
        for i in range(per_name)
    ][: plan.alerts]
    return [
        {"version": "4", "status": "firing", "alerts": alerts[i : i + plan.per_request]}
        for i in range(0, len(alerts), plan.per_request)
    ]


def p0_body(n: int) -> dict[str, Any]:
    labels = {"alertname": f"CheckoutDown{n}", "job": "checkout", "severity": "critical"}
    return {"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": labels}]}


@contextlib.contextmanager
def database(target: str, stack: contextlib.ExitStack) -> Iterator[str | None]:
    if target == "sqlite":
        yield None
        return
    pg = stack.enter_context(PostgresServer())
    yield pg.create_database("storm")


def run(target: str, plan: Plan) -> Result:
    with contextlib.ExitStack() as stack, Receiver() as rx:
        url = stack.enter_context(database(target, stack))
        tmp = Path(tempfile.mkdtemp(prefix="opsbook-storm-"))
        srv = OpsbookServer(config(rx.target), database_url=url, tmpdir=tmp)
        stack.callback(srv.stop)
        srv.start()
        tokens = srv.create_tokens(
            {
                "intake": {"tenant": "acme", "integration": "alertmanager"},
                "viewer": {"tenant": "acme", "role": "viewer"},
            }
        )
        head = {"Authorization": f"Bearer {tokens['intake']}"}
        errors: list[str] = []
        storm_done: list[float] = []

        def post_storm(body: dict[str, Any]) -> None:
            with httpx.Client(timeout=120) as c:
                for _ in range(5):  # a 503 asks for a retry; anything else is an error
                    r = c.post(srv.url + INTAKE, json=body, headers=head)
                    if r.status_code == 200:
                        storm_done.append(time.monotonic())
                        return
                    if r.status_code != 503:
                        break
                    time.sleep(float(r.headers.get("Retry-After", "1")))
                errors.append(f"storm request: {r.status_code} {r.text[:200]}")

        bodies = storm_bodies(plan)
        pool = ThreadPoolExecutor(4)  # the storm arrives over a few connections at once
        t0 = time.monotonic()
        storm = [pool.submit(post_storm, b) for b in bodies]
        p0s: list[tuple[float, str]] = []
        accepted: list[float] = []  # P0 intake request → its 2xx
        with httpx.Client(timeout=30) as c:
            n = 0
            while n * plan.p0_every < plan.p0_for:
                due = t0 + 1.0 + n * plan.p0_every  # the first P0 lands inside the storm
                time.sleep(max(0.0, due - time.monotonic()))
                sent = time.monotonic()
                r = c.post(srv.url + INTAKE, json=p0_body(n), headers=head)
                if r.status_code == 200:
                    p0s.append((sent, r.json()["incidents"][0]))
                    accepted.append(time.monotonic() - sent)
                else:
                    errors.append(f"P0 {n}: {r.status_code} {r.text[:200]}")
                n += 1
        for f in storm:
            f.result(timeout=300)
        pool.shutdown()
        deadline = time.monotonic() + plan.settle + 30
        while time.monotonic() < deadline:  # every P0 delivered, then a quiet settle time
            if all(rx.first_with(inc) for _, inc in p0s):
                break
            time.sleep(0.2)
        time.sleep(plan.settle)
        incidents = srv.incidents(tokens["viewer"])
        stored = sum(i["alert_count"] for i in incidents if not i["title"].startswith("Checkout"))
        if errors:
            errors.append(f"server log kept in {srv.log_path}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        lat = sorted(t - sent for sent, inc in p0s if (t := rx.first_with(inc)) is not None)
        ids = [inc.encode() for _, inc in p0s]
        with rx.lock:
            messages = len(rx.got)
            p0_messages = sum(1 for _, _, raw in rx.got if any(i in raw for i in ids))
            others = [_title(raw) for _, _, raw in rx.got if not any(i in raw for i in ids)]
        return Result(
            target=target,
            storm_alerts=sum(len(b["alerts"]) for b in bodies),
            storm_stored_s=(max(storm_done) - t0) if storm_done else float("nan"),
            stored_checked=stored,
            p0s=len(p0s),
            p0_delivered=len(lat),
            p0_p50_s=percentile(lat, 50),
            p0_p99_s=percentile(lat, 99),
            p0_max_s=lat[-1] if lat else float("nan"),
            p0_accepted_p99_s=percentile(sorted(accepted), 99),
            p0_latencies_s=[
                round((rx.first_with(inc) or float("nan")) - sent, 3) for sent, inc in p0s
            ],
            messages=messages,
            p0_messages=p0_messages,
            other_titles=others,
            incidents=len(incidents),
            errors=errors,
        )


def _title(raw: bytes) -> str:
    try:
        return str(json.loads(raw).get("title", ""))[:200]
    except ValueError:
        return raw[:80].decode(errors="replace")


def report(r: Result) -> str:
    return (
        f"{r.target:9s} storm {r.storm_alerts:,} alerts stored in {r.storm_stored_s:5.1f} s "
        f"(API counts {r.stored_checked:,}) | P0 first delivery p50 {r.p0_p50_s:5.2f} s "
        f"p99 {r.p0_p99_s:5.2f} s max {r.p0_max_s:5.2f} s ({r.p0_delivered}/{r.p0s}; "
        f"accepted p99 {r.p0_accepted_p99_s:.2f} s) | "
        f"messages to the person {r.messages} ({r.p0_messages} about a P0) | incidents {r.incidents}"
        + "".join(f"\n          also received: {title}" for title in r.other_titles[:5])
        + (f" | errors {r.errors[:2]} … {r.errors[-1]}" if r.errors else "")
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--targets", default=",".join(ALL_TARGETS), help="sqlite,postgres")
    ap.add_argument("--quick", action="store_true", help="2,000 alerts, a P0 every 2 s for 10 s")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    plan = (
        Plan(alerts=2_000, alertnames=400, p0_every=2.0, p0_for=10.0, settle=3.0)
        if args.quick
        else Plan()
    )
    results: list[Result] = []
    for target in args.targets.split(","):
        if target not in ALL_TARGETS:
            ap.error(f"unknown target {target!r}; choose from {', '.join(ALL_TARGETS)}")
        try:
            results.append(run(target, plan))
        except ServiceUnavailable as exc:
            print(f"{target:9s} skipped: {exc}")
            continue
        print(report(results[-1]), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 1 if any(r.errors or r.p0_delivered < r.p0s for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
