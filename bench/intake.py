"""Intake throughput: opsbook vs Alertmanager 0.25, same alerts, same load, same box.

Both servers take Alertmanager API v2 ``POST /api/v2/alerts`` bodies (a JSON list of alerts);
opsbook also needs ``Authorization: Bearer <intake token>``. Each (target, scenario) gets a
fresh server and an empty store so runs do not inherit each other's backlog. Scenarios:

  single   one alert per request, closed loop at --concurrency      → alerts/s, p50/p99
  batch    100 alerts per request, closed loop at --concurrency     → alerts/s, p50/p99
  rate     one alert per request at a fixed --rate (1,000/s)        → p50/p99 from schedule

Usage: ``make bench`` or ``.venv/bin/python bench/intake.py --targets alertmanager --seconds 10``.
Everything listens on 127.0.0.1; every load loop is bounded in requests and time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    REPO,
    RunStats,
    find_wrk,
    group_cpu_seconds,
    python_closed_loop,
    python_fixed_rate,
    run_async,
    run_wrk,
    wrk_stats,
)
from tests.support.services import (
    HOST,
    AlertmanagerServer,
    ManagedProcess,
    PostgresServer,
    ServiceUnavailable,
    wait_http_ok,
)

ALL_TARGETS = ("alertmanager", "opsbook-sqlite", "opsbook-postgres")
ALL_SCENARIOS = ("single", "batch", "rate")
ALERTS_PATH = "/api/v2/alerts"

ALERTMANAGER_CONFIG = """\
route: {receiver: blackhole, group_by: [alertname], group_wait: 30s, group_interval: 5m}
receivers: [{name: blackhole}]
"""

OPSBOOK_CONFIG = """\
tenants: [{name: acme}]
services: [{name: bench, tenant: acme}]
routes: [{match: {job: bench}, service: bench}]
"""


class TargetUnavailable(RuntimeError):
    """A target could not be started; the bench reports it and goes on with the others."""


# --------------------------------------------------------------------------------------------
# targets


@dataclass
class Endpoint:
    """Where to send load and how: base URL, bearer token (or None) and the server's pgid."""

    url: str
    token: str | None
    pgid: int


class OpsbookServer(ManagedProcess):
    """``opsbook serve`` on a free port with ``OPSBOOK_DATABASE_URL`` set; ready at /readyz."""

    name = "opsbook"
    start_timeout = 60.0

    def __init__(self, database_url: str, *, tmpdir: Path | None = None) -> None:
        exe = REPO / ".venv" / "bin" / "opsbook"
        found = str(exe) if exe.exists() else shutil.which("opsbook")
        if not found:
            raise TargetUnavailable("no opsbook executable (.venv/bin/opsbook): run `make setup`")
        self.exe = found
        super().__init__(tmpdir=tmpdir)
        self.database_url = database_url
        self.config_path = self.tmpdir / "opsbook.yaml"
        self.config_path.write_text(OPSBOOK_CONFIG)
        self.token = ""

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:P``."""
        return f"http://{HOST}:{self.port}"

    def _env(self) -> dict[str, str]:
        return {**os.environ, "OPSBOOK_DATABASE_URL": self.database_url}

    def _cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.exe, *args],
            env=self._env(),
            cwd=self.tmpdir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def prepare(self) -> None:
        """Migrate the database and create the intake token the load will carry."""
        up = self._cli("db", "upgrade")  # optional: serve may migrate by itself
        token = self._cli(
            "tokens", "create", "--tenant", "acme", "--integration", "prometheus",
            "--config", str(self.config_path),
        )  # fmt: skip
        lines = [ln.strip() for ln in token.stdout.splitlines() if ln.strip()]
        if token.returncode != 0 or not lines:
            raise TargetUnavailable(
                f"`opsbook tokens create` failed ({token.returncode}): "
                f"{(token.stderr or token.stdout).strip()[-800:]}"
                + (f"\n`opsbook db upgrade`: {up.stderr.strip()[-400:]}" if up.returncode else "")
            )
        self.token = lines[-1]

    def _argv(self) -> list[str]:
        return [
            self.exe, "serve",
            "--config", str(self.config_path),
            "--port", str(self.port),
            "--host", HOST,
            "--workers", os.environ.get("BENCH_OPSBOOK_WORKERS", str(os.cpu_count() or 1)),
        ]  # fmt: skip

    def _wait_ready(self, timeout: float) -> None:
        wait_http_ok(f"{self.url}/readyz", timeout, lambda: self.running)


class Targets:
    """Starts a fresh server per (target, scenario); keeps one PostgreSQL for the whole run."""

    def __init__(self, stack: contextlib.ExitStack) -> None:
        self._stack = stack
        self._postgres: PostgresServer | None = None
        self._db_n = 0

    def _postgres_url(self) -> str:
        if self._postgres is None:
            try:
                self._postgres = self._stack.enter_context(PostgresServer())
            except ServiceUnavailable as exc:
                raise TargetUnavailable(str(exc)) from exc
        self._db_n += 1
        return self._postgres.create_database(f"bench{self._db_n}")

    @contextlib.contextmanager
    def start(self, target: str) -> Iterator[Endpoint]:
        """Start ``target`` fresh, yield where to send load, stop it afterwards."""
        if target == "alertmanager":
            try:
                am = AlertmanagerServer(ALERTMANAGER_CONFIG)
            except ServiceUnavailable as exc:
                raise TargetUnavailable(str(exc)) from exc
            with am:
                assert am.proc is not None
                yield Endpoint(am.url, None, am.proc.pid)
            return
        tmp = Path(tempfile.mkdtemp(prefix="opsbook-bench-"))
        try:
            if target == "opsbook-sqlite":
                db_url = f"sqlite:///{tmp / 'opsbook.db'}"
            elif target == "opsbook-postgres":
                db_url = self._postgres_url()
            else:
                raise TargetUnavailable(f"unknown target {target!r}")
            server = OpsbookServer(db_url, tmpdir=tmp)
            try:
                server.prepare()
                server.start()
            except Exception as exc:
                server.stop()
                raise TargetUnavailable(f"{target} did not start: {exc}") from exc
            try:
                assert server.proc is not None
                yield Endpoint(server.url, server.token, server.proc.pid)
            finally:
                server.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# running


def measure(target: str, scenario: str, ep: Endpoint, args: argparse.Namespace) -> RunStats:
    """Warm up briefly, then run one scenario against ``ep``; CPU of server and load counted."""
    batch = args.batch if scenario == "batch" else 1
    use_wrk = scenario != "rate" and args.generator in ("auto", "wrk") and find_wrk() is not None
    if args.generator == "wrk" and scenario != "rate" and not use_wrk:
        raise SystemExit("--generator wrk, but wrk is not installed (apt-get install wrk)")
    generator = "wrk" if use_wrk else "python-asyncio"
    headers = {"Authorization": f"Bearer {ep.token}"} if ep.token else {}
    stats = RunStats(target, scenario, generator, args.concurrency, batch)
    prefix = f"{scenario}-{int(time.time() * 1000)}"
    max_requests = args.max_requests // batch or 1

    def closed(seconds: float, tag: str, into: RunStats) -> None:
        if use_wrk:
            summary, cpu = run_wrk(
                url=ep.url, path=ALERTS_PATH, token=ep.token, batch=batch,
                prefix=f"{prefix}-{tag}", seconds=seconds, concurrency=args.concurrency,
                threads=args.wrk_threads, max_requests=max_requests,
            )  # fmt: skip
            wrk_stats(into, summary)
            into.generator_cpu_s = cpu
        else:
            run_async(
                python_closed_loop(
                    into, url=ep.url, path=ALERTS_PATH, headers=headers,
                    prefix=f"{prefix}-{tag}", seconds=seconds, max_requests=max_requests,
                )
            )  # fmt: skip

    if args.warmup > 0:
        closed(args.warmup, "warmup", RunStats(target, scenario, generator, args.concurrency, 1))
    cpu0 = group_cpu_seconds(ep.pgid)
    if scenario == "rate":
        run_async(
            python_fixed_rate(
                stats, url=ep.url, path=ALERTS_PATH, headers=headers, prefix=prefix,
                rate=args.rate, seconds=args.seconds,
            )
        )  # fmt: skip
    else:
        closed(args.seconds, "run", stats)
    stats.server_cpu_s = group_cpu_seconds(ep.pgid) - cpu0
    if target == "opsbook-postgres":
        stats.note = "server CPU excludes PostgreSQL backends"
    return stats


def _load() -> str:
    """The box's load average (1, 5, 15 min), as ``uptime`` shows it: on a shared 2-core
    machine it says how much of the CPU other work took during a run."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _pct(cpu_s: float, wall_s: float) -> float:
    """CPU seconds as % of one core over the run (200% = both cores of a 2-core box)."""
    return cpu_s / wall_s * 100 if wall_s else 0.0


def print_table(results: list[RunStats]) -> None:
    """Human-readable results, then opsbook/alertmanager ratios per scenario."""
    head = (
        f"{'target':<17} {'scenario':<8} {'generator':<12} {'conc':>4} {'batch':>5} "
        f"{'req/s':>9} {'alerts/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'errors':>7} {'srv cpu':>7} {'gen cpu':>7}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        errs = sum(r.errors.values()) + r.dropped
        print(
            f"{r.target:<17} {r.scenario:<8} {r.generator:<12} {r.concurrency:>4} {r.batch:>5} "
            f"{r.req_per_s:>9.0f} {r.alerts_per_s:>9.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} "
            f"{r.max_ms:>8.1f} {errs:>7} {_pct(r.server_cpu_s, r.seconds):>6.0f}% "
            f"{_pct(r.generator_cpu_s, r.seconds):>6.0f}%"
        )
        if r.scenario == "rate" and r.target_rate:
            print(f"{'':<17} rate: target {r.target_rate:.0f}/s, achieved {r.req_per_s:.0f}/s, "
                  f"dropped {r.dropped}; latency counted from the scheduled send time")  # fmt: skip
        if r.errors:
            print(f"{'':<17} errors: {r.errors}")
        if r.requests == 0 and not r.errors:
            print(f"{'':<17} no request completed within the run: at this concurrency each "
                  f"takes longer than --seconds")  # fmt: skip
    base = {r.scenario: r for r in results if r.target == "alertmanager"}
    ratios = [
        (r, base[r.scenario]) for r in results if r.target != "alertmanager" and r.scenario in base
    ]
    if ratios:
        print("\nopsbook / alertmanager")
        for r, b in ratios:
            if not r.requests or not b.requests:
                print(f"  {r.target:<17} {r.scenario:<8} n/a (no completed request on one side)")
                continue
            thr = r.alerts_per_s / b.alerts_per_s
            p99 = r.p99_ms / b.p99_ms if b.p99_ms else float("nan")
            print(
                f"  {r.target:<17} {r.scenario:<8} throughput x{thr:.2f}   p99 latency x{p99:.2f}"
            )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; the defaults are what README's figures use."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--targets", default=",".join(ALL_TARGETS),
                   help="comma list of %(default)s")  # fmt: skip
    p.add_argument("--only", choices=ALL_TARGETS, help="shortcut for --targets X")
    p.add_argument("--scenarios", default=",".join(ALL_SCENARIOS), help="comma list of %(default)s")
    p.add_argument("--seconds", type=float, default=10.0, help="measured time per run")
    p.add_argument("--warmup", type=float, default=1.0, help="unmeasured warm-up per run (s)")
    p.add_argument("--concurrency", type=int, default=64, help="connections / in-flight requests")
    p.add_argument("--batch", type=int, default=100, help="alerts per request in 'batch'")
    p.add_argument("--rate", type=float, default=1000.0, help="alerts/s in 'rate'")
    p.add_argument("--max-requests", type=int, default=2_000_000,
                   help="alerts cap per run (count bound next to the time bound)")  # fmt: skip
    p.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto",
                   help="auto: wrk when installed (closed-loop runs), else python")  # fmt: skip
    p.add_argument("--wrk-threads", type=int, default=1,
                   help="wrk threads; 1 leaves a core to the server on a 2-core box")  # fmt: skip
    p.add_argument("--json", type=Path, help="also write results to this JSON file")
    args = p.parse_args(argv)
    if args.only:
        args.targets = args.only
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    for t in args.targets:
        if t not in ALL_TARGETS:
            p.error(f"unknown target {t!r}; choose from {', '.join(ALL_TARGETS)}")
    for s in args.scenarios:
        if s not in ALL_SCENARIOS:
            p.error(f"unknown scenario {s!r}; choose from {', '.join(ALL_SCENARIOS)}")
    return args


def ensure_wrk() -> str | None:
    """Install Debian's ``wrk`` when we are root and apt is there (as ``make test-deps`` does
    for the services); otherwise return None and let the python generator stand in."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None
    print("bench: installing wrk (Debian package) for a load generator that can saturate",
          file=sys.stderr)  # fmt: skip
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            capture_output=True,
            timeout=300,
            check=False,
        )
    return find_wrk()


def _sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # run the finally blocks: every server we started gets stopped


def main(argv: list[str] | None = None) -> int:
    """Run every (target, scenario) pair; a target that cannot start is reported, not fatal."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm)
    wrk = find_wrk() or (ensure_wrk() if args.generator != "python" else None)
    if wrk is None and args.generator == "auto":
        print("note: wrk not found (apt-get install wrk); using the asyncio generator, "
              "which saturates before the servers do on a small box", file=sys.stderr)  # fmt: skip
    print(f"intake bench on {platform.node()} ({os.cpu_count()} cpus), {args.seconds:.0f}s runs, "
          f"concurrency {args.concurrency}, generator {args.generator}"
          f"{' (wrk ' + wrk + ')' if wrk and args.generator != 'python' else ''}\n")  # fmt: skip
    results: list[RunStats] = []
    skipped: dict[str, str] = {}
    loads: dict[str, str] = {"start": _load()}
    with contextlib.ExitStack() as stack:
        targets = Targets(stack)
        for target in args.targets:
            for scenario in args.scenarios:
                if target in skipped:
                    break
                try:
                    with targets.start(target) as ep:
                        stats = measure(target, scenario, ep, args)
                except TargetUnavailable as exc:
                    skipped[target] = str(exc)
                    print(f"!! {target}: not measured: {exc}\n", file=sys.stderr)
                    break
                results.append(stats)
                loads[f"{target} {scenario}"] = _load()
                print(f".. {target} {scenario}: {stats.alerts_per_s:,.0f} alerts/s, "
                      f"p99 {stats.p99_ms:.2f} ms (load {_load()})", file=sys.stderr)  # fmt: skip
    print()
    print_table(results)
    print(f"\nload average (1, 5, 15 min) at the start: {loads['start']}; "
          f"after the last run: {_load()} — other work on the box slows both servers")  # fmt: skip
    for target, why in skipped.items():
        print(f"\n{target}: NOT MEASURED — {why.splitlines()[0]}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "host": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
                    "options": {
                        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                    },
                    "results": [r.as_dict() for r in results],
                    "not_measured": skipped,
                    "load_average_after": loads,
                },
                indent=2,
            )
        )
        print(f"\nwrote {args.json}")
    return 0 if results else 1


if __name__ == "__main__":
    raise SystemExit(main())
