"""Load generators for the benchmarks: wrk (strong, closed loop) and a raw asyncio HTTP/1.1
client (fallback, and the only one here that can hold a fixed rate). Every loop is bounded in
request count AND time.

Results are :class:`RunStats`; latencies are acceptance latencies (request sent → 2xx read).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # reuse the test harness (servers, process groups, free ports)
    sys.path.insert(0, str(REPO))

WRK_SCRIPT = Path(__file__).with_name("wrk_alerts.lua")


@dataclass
class RunStats:
    """One measured run: throughput, latency percentiles and who burnt the CPU."""

    target: str
    scenario: str
    generator: str
    concurrency: int
    batch: int
    seconds: float = 0.0
    requests: int = 0  # 2xx answers
    errors: dict[str, int] = field(default_factory=dict)
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    server_cpu_s: float = 0.0
    generator_cpu_s: float = 0.0
    target_rate: float | None = None  # fixed-rate runs only
    dropped: int = 0  # fixed-rate: sends skipped because max in-flight was reached
    note: str = ""

    @property
    def req_per_s(self) -> float:
        """Accepted requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def alerts_per_s(self) -> float:
        """Accepted alerts per second (requests x batch)."""
        return self.req_per_s * self.batch

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly dict including the derived rates."""
        d = asdict(self)
        d["req_per_s"] = round(self.req_per_s, 1)
        d["alerts_per_s"] = round(self.alerts_per_s, 1)
        return d


# --------------------------------------------------------------------------------------------
# payloads


def alert_body(prefix: str, n: int, batch: int) -> bytes:
    """A JSON list of ``batch`` distinct Alertmanager-v2 alerts (unique ``instance`` labels)."""
    now = datetime.now(UTC)
    starts = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    ends = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    alerts = [
        {
            "labels": {
                "alertname": "BenchAlert",
                "job": "bench",
                "severity": "warning",
                "instance": f"{prefix}-{n}-{i}",
            },
            "annotations": {"summary": "intake benchmark"},
            "startsAt": starts,
            "endsAt": ends,
            "generatorURL": "http://127.0.0.1/bench",
        }
        for i in range(batch)
    ]
    return json.dumps(alerts, separators=(",", ":")).encode()


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 when empty)."""
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


# --------------------------------------------------------------------------------------------
# CPU accounting


def group_cpu_seconds(pgid: int) -> float:
    """utime+stime of every live process in process group ``pgid`` (a server and its workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) == pgid:  # field 5 (pgrp), counted after "pid (comm) state"
                total += int(fields[11]) + int(fields[12])
    return total / tick


def children_cpu_seconds() -> float:
    """CPU used by reaped child processes (wrk) so far."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


# --------------------------------------------------------------------------------------------
# wrk


def find_wrk() -> str | None:
    """Path of ``wrk`` (Debian package ``wrk``) or None."""
    return shutil.which("wrk")


def run_wrk(
    *,
    url: str,
    path: str,
    token: str | None,
    batch: int,
    prefix: str,
    seconds: float,
    concurrency: int,
    threads: int,
    max_requests: int,
) -> tuple[dict[str, Any], float]:
    """Run wrk closed-loop for ``seconds`` (at most ``max_requests``); returns (summary, cpu s)."""
    wrk = find_wrk()
    if wrk is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    threads = max(1, min(threads, concurrency))
    per_thread = max(1, max_requests // threads)
    cmd = [
        wrk,
        f"-t{threads}",
        f"-c{concurrency}",
        f"-d{max(1, round(seconds))}s",
        "--timeout", "10s",
        "-s", str(WRK_SCRIPT),
        url,
        "--", str(batch), prefix, str(per_thread), path, token or "",
    ]  # fmt: skip
    cpu0 = children_cpu_seconds()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    cpu = children_cpu_seconds() - cpu0
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    summary: dict[str, Any] = json.loads(lines[-1])
    return summary, cpu


def wrk_stats(stats: RunStats, summary: dict[str, Any]) -> RunStats:
    """Fill ``stats`` from the JSON line printed by wrk_alerts.lua's done()."""
    errors = {
        k: int(summary[k])
        for k in ("non2xx", "connect_errors", "read_errors", "write_errors", "timeouts")
        if summary.get(k)
    }
    stats.seconds = summary["duration_us"] / 1e6
    stats.requests = int(summary["requests"]) - int(summary.get("non2xx", 0))
    stats.errors = errors
    stats.p50_ms = summary["p50_us"] / 1000
    stats.p99_ms = summary["p99_us"] / 1000
    stats.max_ms = summary["max_us"] / 1000
    return stats


# --------------------------------------------------------------------------------------------
# asyncio (raw HTTP/1.1 keep-alive; httpx tops out near 500 req/s here, see README)


class HTTPConn:
    """One keep-alive HTTP/1.1 connection that POSTs pre-encoded bodies and reads the answer."""

    def __init__(self, host: str, port: int, path: str, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/json\r\n{extra}Content-Length: "
        ).encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> int:
        """Send one request and return the status; reconnects when the server closed."""
        if self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        self._writer.write(self._head + str(len(body)).encode() + b"\r\n\r\n" + body)
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        hdrs = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        if hdrs.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self._reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            await self._reader.readexactly(int(hdrs.get("content-length", "0")))
        if hdrs.get("connection", "").lower() == "close":
            await self.close()
        return status

    async def close(self) -> None:
        """Close the socket (ignore errors: the server may have gone first)."""
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
            self._writer = None


def _split(url: str) -> tuple[str, int]:
    hostport = url.split("://", 1)[1].split("/", 1)[0]
    host, _, port = hostport.rpartition(":")
    return host, int(port)


def run_async(coro: Any) -> Any:
    """Run ``coro`` on uvloop when installed (uvicorn[standard] brings it), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


async def python_closed_loop(
    stats: RunStats,
    *,
    url: str,
    path: str,
    headers: dict[str, str],
    prefix: str,
    seconds: float,
    max_requests: int,
) -> RunStats:
    """``concurrency`` connections post back-to-back until ``seconds`` pass or ``max_requests``."""
    loop = asyncio.get_running_loop()
    host, port = _split(url)
    counter = itertools.count()
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    deadline = loop.time() + seconds

    async def worker() -> None:
        conn = HTTPConn(host, port, path, headers)
        try:
            while loop.time() < deadline:
                n = next(counter)
                if n >= max_requests:
                    return
                body = alert_body(prefix, n, stats.batch)
                t0 = time.perf_counter()
                try:
                    status = await asyncio.wait_for(conn.post(body), 10)
                except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
                    errors[type(exc).__name__] += 1
                    await conn.close()
                    continue
                if 200 <= status < 300:
                    latencies.append(time.perf_counter() - t0)
                else:
                    errors[str(status)] += 1
        finally:
            await conn.close()

    cpu0 = time.process_time()
    t0 = time.perf_counter()
    await asyncio.wait_for(
        asyncio.gather(*(worker() for _ in range(stats.concurrency))), seconds + 30
    )
    stats.seconds = time.perf_counter() - t0
    stats.generator_cpu_s = time.process_time() - cpu0
    _fill_latencies(stats, latencies, errors)
    return stats


async def python_fixed_rate(
    stats: RunStats,
    *,
    url: str,
    path: str,
    headers: dict[str, str],
    prefix: str,
    rate: float,
    seconds: float,
) -> RunStats:
    """Open loop: send one request every ``1/rate`` s for ``seconds`` over a connection pool.

    Latency is measured from the *scheduled* send time, so a stalled server is not hidden by
    the generator waiting for it (no coordinated omission). When all ``concurrency``
    connections are busy a send is dropped and counted instead of queueing without bound.
    """
    host, port = _split(url)
    total = int(rate * seconds)
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    idle: list[HTTPConn] = [HTTPConn(host, port, path, headers) for _ in range(stats.concurrency)]
    pool = list(idle)
    bodies = [alert_body(prefix, n, stats.batch) for n in range(total)]  # keep the loop light

    async def one(conn: HTTPConn, n: int, scheduled: float) -> None:
        try:
            status = await asyncio.wait_for(conn.post(bodies[n]), 10)
            if 200 <= status < 300:
                latencies.append(time.perf_counter() - scheduled)
            else:
                errors[str(status)] += 1
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
            errors[type(exc).__name__] += 1
            await conn.close()
        finally:
            idle.append(conn)

    tasks: set[asyncio.Task[None]] = set()
    cpu0 = time.process_time()
    start = time.perf_counter() + 0.05
    try:
        for n in range(total):
            scheduled = start + n / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if not idle:
                stats.dropped += 1
                continue
            task = asyncio.create_task(one(idle.pop(), n, scheduled))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks, timeout=15)
        stats.seconds = time.perf_counter() - start
        stats.generator_cpu_s = time.process_time() - cpu0
    finally:
        for task in list(tasks):
            task.cancel()
        for conn in pool:
            await conn.close()
    stats.target_rate = rate
    _fill_latencies(stats, latencies, errors)
    return stats


def _fill_latencies(stats: RunStats, latencies: list[float], errors: Counter[str]) -> None:
    latencies.sort()
    stats.requests = len(latencies)
    stats.errors = dict(errors)
    stats.p50_ms = percentile(latencies, 50) * 1000
    stats.p99_ms = percentile(latencies, 99) * 1000
    stats.max_ms = (latencies[-1] if latencies else 0.0) * 1000
