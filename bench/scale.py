"""Pages at scale: each read page at 1,000 alerts and at 1,000,000 alerts / 100,000 incidents.

The history is written straight through the storage layer (SQLAlchemy Core executemany on the
tables of ``opsbook.storage``, with the summary rows intake keeps): 100,000 incidents created
over the last 365 days (about 8,200 in any 30 days), ten alerts and a "joined" timeline entry per
alert on average, one incident holding 10,000 alerts, 50 still open. Then a real
``opsbook serve`` (uvicorn subprocess on 127.0.0.1) answers a bounded number of requests per
page; printed per page: median and p95 at the small and the large history, and the server's RSS.

Usage: ``.venv/bin/python bench/scale.py`` (SQLite; ~5 min), ``--targets sqlite,postgres``,
``--alerts 200000`` (a smaller large history), ``--requests 20``, ``--json FILE``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import orjson
from psycopg.types.json import Jsonb
from sqlalchemy import Connection, Table, text
from tests.support.server import OpsbookServer
from tests.support.services import PostgresServer

from opsbook.storage import migrate
from opsbook.storage.db import make_engine, make_sessionmaker
from opsbook.storage.tables import Alert, Incident, TimelineEntry
from opsbook.storage.tables_summary import IncidentAlertName, IncidentLevel
from opsbook.web.sessions import save_user

SERVICES = ("checkout-api", "search-indexer", "ledger", "payments")
CONFIG = """
tenants: [{name: acme}]
services:
  - {name: checkout-api, tenant: acme, components: [Checkout, Payments]}
  - {name: search-indexer, tenant: acme, components: [Search]}
  - {name: ledger, tenant: acme, components: [Ledger API]}
  - {name: payments, tenant: acme}
routes: [{match: {job: checkout}, service: checkout-api}]
severity_map: {critical: P0, high: P1, warning: P2, info: P3}
users: [{name: alice, tenant: acme, role: commander}]
"""
PASSWORD = "correct horse battery staple"
BIG = 10_000  # alerts of the one big incident
CHUNK = 20_000


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _write(c: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """One driver executemany of ``rows``, whose values are already in the columns' stored form
    (``_Stored``): the ORM's per-value processing would cost more than the insert itself."""
    cols = list(rows[0])
    mark = "?" if c.dialect.name == "sqlite" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join([mark] * len(cols))})"
    c.exec_driver_sql(sql, [tuple(r.values()) for r in rows])


class _Stored:
    """Times and JSON as ``UTCDateTime`` / ``JSONType`` bind them on this dialect."""

    def __init__(self, sqlite: bool) -> None:
        self.sqlite = sqlite

    def ts(self, v: datetime | None) -> Any:
        if v is None or not self.sqlite:
            return v
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def js(self, v: dict[str, Any]) -> Any:
        return orjson.dumps(v).decode() if self.sqlite else Jsonb(v)


def seed(url: str, alerts: int, incidents: int, now: datetime) -> str:
    """Write the history; the id of the incident holding ``BIG`` alerts (or all, if fewer)."""
    rng = random.Random(19)
    engine = make_engine(url)
    migrate.upgrade(engine)
    big_id = "inc_big"
    per_rest = max(1, (alerts - min(BIG, alerts)) // max(1, incidents - 1))
    with engine.begin() as c:
        if engine.dialect.name == "sqlite":
            c.execute(text("PRAGMA synchronous=OFF"))  # seeding only; the server runs FULL
        inc_rows: list[dict[str, Any]] = []
        alert_rows: list[dict[str, Any]] = []
        entry_rows: list[dict[str, Any]] = []
        names: list[dict[str, Any]] = []
        levels: list[dict[str, Any]] = []

        def flush(force: bool = False) -> None:
            """Write every table (parents first) once any holds a chunk."""
            if not force and max(len(alert_rows), len(entry_rows), len(inc_rows)) < CHUNK:
                return
            for table, rows in (
                (_table(Incident), inc_rows),
                (_table(Alert), alert_rows),
                (_table(TimelineEntry), entry_rows),
                (_table(IncidentAlertName), names),
                (_table(IncidentLevel), levels),
            ):
                if rows:
                    _write(c, table, rows)
                    rows.clear()

        made = 0
        st = _Stored(engine.dialect.name == "sqlite")
        empty, note = st.js({}), st.js({"summary": "bench"})
        for n in range(incidents):
            iid = big_id if n == 0 else f"inc_{n:07d}"
            count = min(BIG, alerts) if n == 0 else per_rest
            created = now - timedelta(seconds=rng.uniform(0, 365 * 86400)) if n else now
            sev = f"P{rng.randrange(4)}"
            svc = SERVICES[n % len(SERVICES)]
            is_open = n < 50
            acked = (
                None if is_open and n % 2 else created + timedelta(seconds=rng.uniform(30, 1800))
            )
            resolved = None if is_open else created + timedelta(seconds=rng.uniform(600, 7200))
            closed = resolved if (resolved and n % 3 == 0) else None
            name = f"Alert{n % 400}"
            ends = st.ts(resolved)
            inc_rows.append({
                "id": iid, "tenant": "acme", "service": svc, "group_key": f"g{n}",
                "open_key": f"g{n}" if is_open else None, "group_labels": st.js({"alertname": name}),
                "title": f"{name} on {svc}", "severity": sev,
                "status": "triggered" if is_open and n % 2 else "acknowledged" if is_open
                else "closed" if closed else "resolved",
                "source": "alertmanager", "auto_resolve": True, "commander": None,
                "created_at": st.ts(created), "updated_at": st.ts(resolved or created),
                "ack_deadline": st.ts(created + timedelta(minutes=15)), "acknowledged_at": st.ts(acked),
                "acknowledged_by": "alice" if acked else None, "resolved_at": st.ts(resolved),
                "resolved_by": "alice" if resolved else None, "closed_at": st.ts(closed),
                "close_reason": ("false_positive" if n % 9 == 0 else "resolved") if closed else None,
                "first_alert_at": st.ts(created - timedelta(seconds=rng.uniform(0, 300))),
                "alert_count": count, "storm": False,
            })  # fmt: skip
            entry_rows.append({"tenant": "acme", "incident_id": iid, "at": st.ts(created),
                               "actor": "alertmanager", "kind": "opened",
                               "message": f"{sev} incident opened on {svc}", "data": empty})  # fmt: skip
            names.append({"incident_id": iid, "alertname": name, "tenant": "acme"})
            if n % 7 == 0:
                levels.append({"incident_id": iid, "tenant": "acme", "level": 1})
            for k in range(count):
                at = st.ts(created + timedelta(milliseconds=k))
                alert_rows.append({
                    "id": f"al_{n:07d}_{k:05d}", "tenant": "acme", "incident_id": iid,
                    "fingerprint": f"fp{n}-{k}", "source": "alertmanager",
                    "integration": "alertmanager", "alertname": name,
                    "status": "resolved" if resolved else "firing", "severity": sev,
                    "labels": st.js({"alertname": name, "instance": f"host-{k}", "job": "checkout"}),
                    "annotations": note, "starts_at": at, "ends_at": ends,
                    "generator_url": "", "first_received_at": at, "last_received_at": at,
                    "receive_count": 1,
                })  # fmt: skip
                if k:
                    entry_rows.append({"tenant": "acme", "incident_id": iid, "at": at,
                                       "actor": "alertmanager", "kind": "alert_firing",
                                       "message": f"alert {name} joined the incident",
                                       "data": st.js({"fingerprint": f"fp{n}-{k}"})})  # fmt: skip
            made += count
            flush()
        flush(force=True)
    with make_sessionmaker(engine).begin() as s:
        save_user(s, "acme", "alice", "commander", PASSWORD, now)
    engine.dispose()
    return big_id


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _timed(c: httpx.Client, path: str, n: int, **kw: Any) -> tuple[float, float, int]:
    """Median and p95 in ms of ``n`` GETs of ``path`` (after one warm-up), and the last status."""
    c.get(path, **kw)
    times = []
    status = 0
    for _ in range(n):
        t0 = time.perf_counter()
        r = c.get(path, **kw)
        times.append((time.perf_counter() - t0) * 1000)
        status = r.status_code
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))], status


def measure(srv: OpsbookServer, big_id: str, n: int) -> dict[str, Any]:
    token = srv.create_tokens({"v": {"tenant": "acme", "role": "viewer"}})["v"]
    auth = {"Authorization": f"Bearer {token}"}
    out: dict[str, Any] = {}
    with httpx.Client(base_url=srv.url, timeout=120) as c:
        first = c.get(f"/api/v1/incidents/{big_id}", headers=auth).json()
        nxt = first.get("alerts_next") or f"/api/v1/incidents/{big_id}/alerts"
        page = c.get("/ui/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf, "no login form"
        c.post("/ui/login", data={"login": "alice", "password": PASSWORD, "csrf": csrf.group(1)})
        calls = {
            "incidents list": ("/api/v1/incidents?limit=50", auth),
            "incidents ?status=resolved": ("/api/v1/incidents?status=resolved&limit=50", auth),
            "incidents ?severity=P1": ("/api/v1/incidents?severity=P1&limit=50", auth),
            "incidents ?service=ledger": ("/api/v1/incidents?service=ledger&limit=50", auth),
            "incident (10k alerts)": (f"/api/v1/incidents/{big_id}", auth),
            "its alerts, page 2": (nxt, auth),
            "UI incidents page": ("/ui/", {}),
            "UI incident page": (f"/ui/incidents/{big_id}", {}),
            "status page": ("/status/acme", {}),
            "status .json": ("/status/acme.json", {}),
            "/metrics": ("/metrics", {}),
            "report 30d": ("/api/v1/reports?days=30", auth),
            "UI reports page": ("/ui/reports", {}),
        }
        for name, (path, headers) in calls.items():
            med, p95, status = _timed(c, path, n, headers=headers)
            out[name] = {"median_ms": round(med, 1), "p95_ms": round(p95, 1), "status": status}
    assert srv.proc is not None
    out["rss_mb"] = round(_rss_mb(srv.proc.pid), 1)
    return out


@contextmanager
def database(target: str, name: str) -> Iterator[str | None]:
    if target == "sqlite":
        yield None
        return
    with PostgresServer() as pg:
        yield pg.create_database(name)


def run(target: str, alerts: int, incidents: int, n: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    with database(target, f"scale_{alerts}") as url:
        srv = OpsbookServer(CONFIG, database_url=url)
        t0 = time.perf_counter()
        big = seed(srv.database_url, alerts, incidents, now)
        seeded = time.perf_counter() - t0
        print(f"  {target}: seeded {alerts:,} alerts / {incidents:,} incidents in {seeded:.0f} s",
              flush=True)  # fmt: skip
        srv._upgraded = True  # seed() migrated it
        with srv:
            assert srv.proc is not None
            rss0 = _rss_mb(srv.proc.pid)
            figures = measure(srv, big, n)
        figures["rss_start_mb"] = round(rss0, 1)
        figures["seed_seconds"] = round(seeded, 1)
        return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", default="sqlite")
    ap.add_argument("--alerts", type=int, default=1_000_000)
    ap.add_argument("--incidents", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    results: dict[str, Any] = {}
    for target in args.targets.split(","):
        small = run(target, 1_000, 100, args.requests)
        large = run(target, args.alerts, args.incidents, args.requests)
        results[target] = {"small": small, "large": large}
        print(f"\n{target}: {args.alerts:,} alerts / {args.incidents:,} incidents vs 1,000 / 100")
        print(f"  {'page':<28} {'1k median/p95 ms':>18} {'large median/p95 ms':>22}")
        for name, big in large.items():
            if not isinstance(big, dict):
                continue
            lo = small[name]
            print(f"  {name:<28} {lo['median_ms']:>8} / {lo['p95_ms']:<8} "
                  f"{big['median_ms']:>9} / {big['p95_ms']:<9} {big['status']}")  # fmt: skip
        print(f"  server RSS after the calls: {small['rss_mb']} MB (1k), {large['rss_mb']} MB "
              f"(large; {large['rss_start_mb']} MB at start)")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
