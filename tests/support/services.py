"""Real services for tests and benchmarks: Redis, PostgreSQL, Prometheus, Alertmanager.

Each server starts on a free loopback port in its own temp dir and is stopped afterwards; use
them as context managers (or call ``start()``/``stop()``). A missing binary raises
:class:`ServiceUnavailable`, whose message names the Debian package and ``make test-deps`` —
the fixtures in ``tests/conftest.py`` turn it into a ``pytest.skip``.

No orphans, even when the test process dies: every server runs in its own process group
(terminate, then kill the group) and, through util-linux ``setpriv --pdeathsig``, receives
SIGKILL when the thread that started it exits. Start servers from the main thread.

Two tiny in-process HTTP servers complete the kit: :class:`MetricExporter` (a ``/metrics``
target whose values a test sets) and :class:`WebhookReceiver` (records Alertmanager webhooks).

Only loopback addresses are used, ever.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

__all__ = [
    "HOST",
    "AlertmanagerServer",
    "ManagedProcess",
    "MetricExporter",
    "PostgresServer",
    "PrometheusServer",
    "RedisServer",
    "ServiceStartError",
    "ServiceUnavailable",
    "WebhookReceiver",
    "find_binary",
    "free_port",
    "port_open",
    "wait_for_port",
    "wait_http_ok",
]

HOST = "127.0.0.1"
PG_BIN_DIR = Path(os.environ.get("OPSBOOK_PG_BIN", "/usr/lib/postgresql/15/bin"))


class ServiceUnavailable(RuntimeError):
    """A service binary is not installed; the message says which Debian package to install."""


class ServiceStartError(RuntimeError):
    """The binary exists but the server did not come up; the message carries its log tail."""


# --------------------------------------------------------------------------------------------
# ports and binaries


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now (the OS picks it; a race is unlikely)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until ``host:port`` accepts connections; raise ``TimeoutError`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not port_open(host, port):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listening on {host}:{port} after {timeout:.1f}s")
        time.sleep(0.02)


def find_binary(names: Sequence[str], package: str, env_var: str | None = None) -> str:
    """Locate the first of ``names`` (or ``$env_var``) or raise :class:`ServiceUnavailable`."""
    candidates = list(names)
    if env_var and os.environ.get(env_var):
        candidates.insert(0, os.environ[env_var])
    for name in candidates:
        found = shutil.which(name)  # also checks absolute paths for the x bit
        if found:
            return found
    raise ServiceUnavailable(
        f"{names[0]} is not installed: install the Debian package {package!r} "
        f"(run `make test-deps`, i.e. scripts/install-test-deps.sh)"
    )


def _http(
    method: str, url: str, body: bytes | None = None, timeout: float = 5.0
) -> tuple[int, bytes]:
    """Minimal stdlib HTTP call (no httpx needed here); returns (status, body) even on 4xx/5xx."""
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def wait_http_ok(url: str, timeout: float, alive: Callable[[], bool] = lambda: True) -> None:
    """Poll ``url`` until it answers 200, the process dies, or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        if not alive():
            raise ServiceStartError(f"process exited before {url} answered")
        try:
            status, _ = _http("GET", url, timeout=1.0)
            if status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer 200 within {timeout:.1f}s")
        time.sleep(0.05)


# --------------------------------------------------------------------------------------------
# process handling

_LIVE: weakref.WeakSet[ManagedProcess] = weakref.WeakSet()


@atexit.register
def _stop_all_at_exit() -> None:
    """Last line of defence: stop whatever a crashed test left running."""
    for svc in list(_LIVE):
        with contextlib.suppress(Exception):
            svc.stop()


def _wrap_argv(argv: list[str], run_as: str | None) -> list[str]:
    """Prefix ``argv`` so the child gets SIGKILL if we die (and optionally drops to ``run_as``).

    ``--pdeathsig`` must be set *after* the uid change (the kernel clears it on setuid), hence
    the two setpriv calls for ``run_as``.
    """
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        if run_as and os.geteuid() == 0:
            return ["runuser", "-u", run_as, "--", *argv]
        return argv
    wrapped = [setpriv, "--pdeathsig", "KILL", "--", *argv]
    if run_as and os.geteuid() == 0:
        wrapped = [setpriv, "--reuid", run_as, "--regid", run_as, "--clear-groups", "--", *wrapped]
    return wrapped


class ManagedProcess:
    """A server process in its own process group, logging to ``<tmpdir>/<name>.log``.

    Subclasses give ``_argv()`` (and optionally ``_env()``/``_wait_ready()``); the bench
    reuses it to run ``opsbook serve``.
    """

    name = "service"

    def __init__(self, *, port: int | None = None, tmpdir: Path | None = None) -> None:
        self._auto_port = port is None
        self._started_once = False
        self.port = port or free_port()
        self._own_tmp = tmpdir is None
        self.tmpdir = tmpdir or Path(tempfile.mkdtemp(prefix=f"opsbook-{self.name}-"))
        self.log_path = self.tmpdir / f"{self.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    # subclasses provide these
    def _argv(self) -> list[str]:
        raise NotImplementedError

    def _wait_ready(self, timeout: float) -> None:
        wait_for_port(HOST, self.port, timeout)

    def _env(self) -> dict[str, str] | None:
        """Environment for the child; None inherits ours."""
        return None

    _run_as: str | None = None
    _stop_signal: int = signal.SIGTERM
    start_timeout: float = 20.0

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def _spawn(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                _wrap_argv(self._argv(), self._run_as),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.tmpdir,
                env=self._env(),
                start_new_session=True,
            )
        _LIVE.add(self)

    def start(self) -> Self:
        """Start the server and wait until it is ready; a port clash is retried on a new port."""
        if self.running:
            return self
        attempts = 3 if (self._auto_port and not self._started_once) else 1
        for attempt in range(attempts):
            try:
                self._spawn()
                self._wait_ready(self.start_timeout)
            except (TimeoutError, ServiceStartError) as exc:
                self._kill()
                clash = "address already in use" in self.log_tail().lower()
                if clash and attempt + 1 < attempts:
                    self.port = free_port()  # another process took our port between pick and bind
                    continue
                raise ServiceStartError(
                    f"{self.name} did not start on {HOST}:{self.port}: {exc}\n{self.log_tail()}"
                ) from exc
            break
        self._started_once = True
        return self

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's log, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _kill(self, grace: float = 10.0) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, self._stop_signal)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        # children that outlived the leader (same group) get no second chance
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        self.proc = None

    def stop(self) -> None:
        """Stop the server (terminate its group, then kill); keep the data dir for ``start()``."""
        self._kill()
        _LIVE.discard(self)

    def close(self) -> None:
        """Stop the server and delete its temp dir."""
        self.stop()
        if self._own_tmp:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# Redis


class RedisServer(ManagedProcess):
    """A throwaway ``redis-server`` without persistence: ``url`` is ``redis://127.0.0.1:P/0``."""

    name = "redis"

    def __init__(self, *, port: int | None = None, tmpdir: Path | None = None) -> None:
        self.binary = find_binary(["redis-server"], "redis-server", "OPSBOOK_REDIS_SERVER")
        super().__init__(port=port, tmpdir=tmpdir)

    @property
    def url(self) -> str:
        """Connection URL for database 0."""
        return f"redis://{HOST}:{self.port}/0"

    def url_for(self, db: int) -> str:
        """Connection URL for logical database ``db`` (0-15), to keep tests apart."""
        return f"redis://{HOST}:{self.port}/{db}"

    def _argv(self) -> list[str]:
        return [
            self.binary,
            "--bind", HOST,
            "--port", str(self.port),
            "--dir", str(self.tmpdir),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--loglevel", "warning",
        ]  # fmt: skip

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if not self.running:
                raise ServiceStartError("redis-server exited")
            with (
                contextlib.suppress(OSError),
                socket.create_connection((HOST, self.port), timeout=0.5) as s,
            ):
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return
            if time.monotonic() > deadline:
                raise TimeoutError("no PONG")
            time.sleep(0.02)


# --------------------------------------------------------------------------------------------
# PostgreSQL


class PostgresServer(ManagedProcess):
    """PostgreSQL 15 with trust auth on 127.0.0.1, tuned for tests (fsync off).

    ``url`` is a SQLAlchemy URL for the ``opsbook`` database. ``stop()``/``start()`` keep port
    and data dir, so a test can take storage down and bring it back (see :meth:`stopped`).
    ``create_database(name)`` gives each test module a clean database.
    """

    name = "postgres"
    _stop_signal = signal.SIGINT  # "fast" shutdown: roll back and disconnect clients

    def __init__(self, *, port: int | None = None, tmpdir: Path | None = None) -> None:
        self.bin_dir = PG_BIN_DIR
        find_binary([str(self.bin_dir / "postgres")], "postgresql-15", None)
        super().__init__(port=port, tmpdir=tmpdir)
        self._run_as = "postgres" if os.geteuid() == 0 else None
        self.data_dir = self.tmpdir / "data"
        self.socket_dir = self.tmpdir / "sock"
        self.user = "postgres"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the default ``opsbook`` database."""
        return self.url_for("opsbook")

    def url_for(self, database: str, driver: str = "postgresql+psycopg") -> str:
        """SQLAlchemy URL for ``database`` (``driver="postgresql"`` gives a libpq URL)."""
        return f"{driver}://{self.user}@{HOST}:{self.port}/{database}"

    @property
    def dsn(self) -> str:
        """libpq URL (for ``psycopg.connect``) of the ``opsbook`` database."""
        return self.url_for("opsbook", driver="postgresql")

    def _initdb(self) -> None:
        """Create the cluster once per server (``--no-sync`` makes it take about half a second)."""
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._run_as:
            for p in (self.tmpdir, self.data_dir, self.socket_dir):
                shutil.chown(p, self._run_as, self._run_as)
        with open(self.log_path, "ab") as log:
            subprocess.run(
                _wrap_argv(
                    [
                        str(self.bin_dir / "initdb"), "-D", str(self.data_dir),
                        "-U", self.user, "--auth=trust", "--no-sync",
                        "-E", "UTF8", "--locale=C",
                    ],
                    self._run_as,
                ),
                check=True, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmpdir, timeout=60,
            )  # fmt: skip

    def _argv(self) -> list[str]:
        return [
            str(self.bin_dir / "postgres"),
            "-D", str(self.data_dir),
            "-p", str(self.port),
            "-k", str(self.socket_dir),
            "-c", f"listen_addresses={HOST}",
            "-c", "fsync=off",
            "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off",
            "-c", "max_connections=200",
            "-c", "shared_buffers=64MB",
        ]  # fmt: skip

    def start(self) -> Self:
        """Start (running ``initdb`` the first time) and make sure ``opsbook`` exists."""
        if self.running:
            return self
        first = not (self.data_dir / "PG_VERSION").exists()
        if first:
            self._initdb()
        super().start()
        if first:
            self.create_database("opsbook")
        return self

    def _wait_ready(self, timeout: float) -> None:
        import psycopg  # local: keep the module importable without the driver

        deadline = time.monotonic() + timeout
        while True:
            if not self.running:
                raise ServiceStartError("postgres exited")
            try:
                with psycopg.connect(self.url_for("postgres", "postgresql"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise TimeoutError("postgres does not accept connections") from None
                time.sleep(0.05)

    def create_database(self, name: str) -> str:
        """(Re)create an empty database ``name`` and return its SQLAlchemy URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url_for("postgres", "postgresql"), autocommit=True) as conn:
            ident = sql.Identifier(name)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
        return self.url_for(name)

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """Take PostgreSQL down for the ``with`` block, then start it again on the same port."""
        self.stop()
        try:
            yield
        finally:
            self.start()


# --------------------------------------------------------------------------------------------
# Alertmanager


class AlertmanagerServer(ManagedProcess):
    """Alertmanager 0.25 from ``config_yaml`` (clustering off, API v2 at ``url``)."""

    name = "alertmanager"

    def __init__(
        self, config_yaml: str, *, port: int | None = None, tmpdir: Path | None = None
    ) -> None:
        self.binary = find_binary(
            ["prometheus-alertmanager", "alertmanager"],
            "prometheus-alertmanager",
            "OPSBOOK_ALERTMANAGER",
        )
        super().__init__(port=port, tmpdir=tmpdir)
        self.config_path = self.tmpdir / "alertmanager.yml"
        self.config_path.write_text(config_yaml)

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:P``."""
        return f"http://{HOST}:{self.port}"

    def _argv(self) -> list[str]:
        return [
            self.binary,
            f"--config.file={self.config_path}",
            f"--storage.path={self.tmpdir / 'data'}",
            f"--web.listen-address={HOST}:{self.port}",
            f"--web.external-url={self.url}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]

    def _wait_ready(self, timeout: float) -> None:
        wait_http_ok(f"{self.url}/-/ready", timeout, lambda: self.running)

    def reload(self, config_yaml: str | None = None) -> None:
        """Optionally replace the config, then ``POST /-/reload``; raise if it is rejected."""
        if config_yaml is not None:
            self.config_path.write_text(config_yaml)
        status, body = _http("POST", f"{self.url}/-/reload")
        if status != 200:
            raise ServiceStartError(f"alertmanager reload failed ({status}): {body.decode()}")

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """Push alerts through ``POST /api/v2/alerts`` as Prometheus would."""
        status, body = _http("POST", f"{self.url}/api/v2/alerts", json.dumps(alerts).encode())
        if status != 200:
            raise RuntimeError(f"alertmanager refused alerts ({status}): {body.decode()}")

    def alerts(self) -> list[dict[str, Any]]:
        """Current alerts from ``GET /api/v2/alerts``."""
        _, body = _http("GET", f"{self.url}/api/v2/alerts")
        result: list[dict[str, Any]] = json.loads(body)
        return result


def alertmanager_webhook_config(
    webhook_url: str,
    *,
    group_by: Sequence[str] = ("alertname",),
    group_wait: str = "0s",
    group_interval: str = "1s",
    repeat_interval: str = "1h",
    send_resolved: bool = True,
) -> str:
    """An Alertmanager config sending every alert to one webhook, fast enough for tests."""
    return json.dumps(  # JSON is valid YAML and needs no quoting care
        {
            "route": {
                "receiver": "webhook",
                "group_by": list(group_by),
                "group_wait": group_wait,
                "group_interval": group_interval,
                "repeat_interval": repeat_interval,
            },
            "receivers": [
                {
                    "name": "webhook",
                    "webhook_configs": [
                        {"url": webhook_url, "send_resolved": send_resolved, "max_alerts": 0}
                    ],
                }
            ],
        },
        indent=2,
    )


# --------------------------------------------------------------------------------------------
# Prometheus


class PrometheusServer(ManagedProcess):
    """Prometheus 2.x scraping ``targets`` every second and evaluating ``rule_files`` every second.

    ``rules`` is the YAML text of one rule file (``groups: …``). ``alertmanager_url`` (or None)
    is where alerts go; ``extra_alerting`` is merged into the ``alerting:`` block (e.g.
    ``alert_relabel_configs``). Change anything and call :meth:`reload` (``POST /-/reload``).
    """

    name = "prometheus"

    def __init__(
        self,
        rules: str = "",
        targets: Sequence[str] = (),
        alertmanager_url: str | None = None,
        *,
        extra_alerting: Mapping[str, Any] | None = None,
        job: str = "test",
        interval: str = "1s",
        port: int | None = None,
        tmpdir: Path | None = None,
    ) -> None:
        self.binary = find_binary(["prometheus"], "prometheus", "OPSBOOK_PROMETHEUS")
        super().__init__(port=port, tmpdir=tmpdir)
        self.rules = rules
        self.targets = list(targets)
        self.alertmanager_url = alertmanager_url
        self.extra_alerting = dict(extra_alerting or {})
        self.job = job
        self.interval = interval
        self.config_path = self.tmpdir / "prometheus.yml"
        self.rules_path = self.tmpdir / "rules.yml"
        self._write_config()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:P``."""
        return f"http://{HOST}:{self.port}"

    def config(self) -> dict[str, Any]:
        """The prometheus.yml this server runs with, as a dict."""
        cfg: dict[str, Any] = {
            "global": {
                "scrape_interval": self.interval,
                "scrape_timeout": self.interval,
                "evaluation_interval": self.interval,
            },
            "rule_files": [str(self.rules_path)],
            "scrape_configs": [
                {"job_name": self.job, "static_configs": [{"targets": self.targets}]}
            ],
        }
        alerting: dict[str, Any] = dict(self.extra_alerting)
        if self.alertmanager_url:
            scheme, _, rest = self.alertmanager_url.partition("://")
            hostport, _, path = rest.partition("/")
            alerting.setdefault("alertmanagers", []).append(
                {
                    "scheme": scheme,
                    "path_prefix": "/" + path,
                    "api_version": "v2",
                    "static_configs": [{"targets": [hostport]}],
                }
            )
        if alerting:
            cfg["alerting"] = alerting
        return cfg

    def _write_config(self) -> None:
        self.rules_path.write_text(self.rules or "groups: []\n")
        self.config_path.write_text(json.dumps(self.config(), indent=2))

    def _argv(self) -> list[str]:
        return [
            self.binary,
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.tmpdir / 'data'}",
            f"--web.listen-address={HOST}:{self.port}",
            f"--web.external-url={self.url}",
            "--web.enable-lifecycle",
            "--rules.alert.resend-delay=1s",
            "--log.level=warn",
        ]

    def _wait_ready(self, timeout: float) -> None:
        wait_http_ok(f"{self.url}/-/ready", timeout, lambda: self.running)

    def reload(
        self,
        *,
        rules: str | None = None,
        targets: Sequence[str] | None = None,
        alertmanager_url: str | None = None,
    ) -> None:
        """Rewrite the config with any changed part and reload it; raise if Prometheus refuses."""
        if rules is not None:
            self.rules = rules
        if targets is not None:
            self.targets = list(targets)
        if alertmanager_url is not None:
            self.alertmanager_url = alertmanager_url
        self._write_config()
        status, body = _http("POST", f"{self.url}/-/reload", timeout=30)
        if status != 200:
            raise ServiceStartError(f"prometheus reload failed ({status}): {body.decode()}")

    def restart(self) -> None:
        """Stop and start again with the same port, config and TSDB."""
        self.stop()
        self.start()

    def _api(self, path: str) -> Any:
        status, body = _http("GET", f"{self.url}{path}")
        payload = json.loads(body)
        if status != 200 or payload.get("status") != "success":
            raise RuntimeError(f"prometheus {path} failed ({status}): {body.decode()[:500]}")
        return payload["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Instant query; returns the ``result`` vector."""
        from urllib.parse import quote

        result: list[dict[str, Any]] = self._api(f"/api/v1/query?query={quote(promql)}")["result"]
        return result

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts Prometheus currently holds (pending or firing)."""
        result: list[dict[str, Any]] = self._api("/api/v1/alerts")["alerts"]
        return result

    def targets_up(self) -> bool:
        """True once every configured target has been scraped successfully."""
        active = self._api("/api/v1/targets")["activeTargets"]
        return bool(active) and all(t.get("health") == "up" for t in active)


# --------------------------------------------------------------------------------------------
# in-process HTTP helpers


class _ThreadedHTTP:
    """A ThreadingHTTPServer on a free loopback port, served from a daemon thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer((HOST, 0), handler)
        self._server.daemon_threads = True
        self._server.owner = self  # type: ignore[attr-defined]
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:P``."""
        return f"http://{HOST}:{self.port}"

    @property
    def target(self) -> str:
        """``host:port`` as Prometheus ``static_configs`` want it."""
        return f"{HOST}:{self.port}"

    def start(self) -> Self:
        """Serve in the background."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and free the port."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""


class _MetricsHandler(_QuietHandler):
    def do_GET(self) -> None:
        owner: MetricExporter = self.server.owner  # type: ignore[attr-defined]
        if self.path.split("?")[0] != "/metrics":
            self.send_error(404)
            return
        body = owner.render().encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class MetricExporter(_ThreadedHTTP):
    """A ``/metrics`` endpoint whose gauges the test sets: ``exporter.set("queue_depth", 5)``.

    Add ``exporter.target`` to a :class:`PrometheusServer`'s targets; changing a value makes
    a rule fire or resolve on the next scrape.
    """

    def __init__(self, values: Mapping[str, float] | None = None) -> None:
        super().__init__(_MetricsHandler)
        self._lock = threading.Lock()
        self._values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.scrapes = 0
        for name, value in (values or {}).items():
            self.set(name, value)

    def set(self, name: str, value: float, labels: Mapping[str, str] | None = None) -> None:
        """Set gauge ``name{labels}`` to ``value``."""
        with self._lock:
            self._values[(name, tuple(sorted((labels or {}).items())))] = float(value)

    def remove(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        """Stop exposing ``name{labels}``."""
        with self._lock:
            self._values.pop((name, tuple(sorted((labels or {}).items()))), None)

    def render(self) -> str:
        """The exposition text served at ``/metrics``."""
        with self._lock:
            self.scrapes += 1
            lines = []
            for name in sorted({n for n, _ in self._values}):
                lines.append(f"# TYPE {name} gauge")
                for (n, labels), value in sorted(self._values.items()):
                    if n != name:
                        continue
                    lbl = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                    lines.append(f"{name}{{{lbl}}} {value!r}" if lbl else f"{name} {value!r}")
            return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _WebhookHandler(_QuietHandler):
    def do_POST(self) -> None:
        owner: WebhookReceiver = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        status = owner._record(self.path, dict(self.headers.items()), raw)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class WebhookReceiver(_ThreadedHTTP):
    """Records every POST (path, headers, JSON body); ``wait_for`` blocks until one matches.

    ``statuses`` lets a test script the answers (e.g. ``[503, 503]`` then 200) to exercise
    retries; after the script runs out it answers ``default_status``.
    """

    def __init__(self, statuses: Sequence[int] = (), default_status: int = 200) -> None:
        super().__init__(_WebhookHandler)
        self._cond = threading.Condition()
        self.requests: list[dict[str, Any]] = []
        self._statuses = list(statuses)
        self.default_status = default_status

    @property
    def bodies(self) -> list[Any]:
        """Decoded JSON bodies received so far (``None`` for non-JSON)."""
        with self._cond:
            return [r["json"] for r in self.requests]

    def _record(self, path: str, headers: dict[str, str], raw: bytes) -> int:
        try:
            decoded: Any = json.loads(raw)
        except ValueError:
            decoded = None
        with self._cond:
            status = self._statuses.pop(0) if self._statuses else self.default_status
            self.requests.append(
                {"path": path, "headers": headers, "body": raw, "json": decoded, "status": status}
            )
            self._cond.notify_all()
        return status

    def wait_for(
        self, predicate: Callable[[Any], bool] = lambda _body: True, timeout: float = 30.0
    ) -> Any:
        """First JSON body satisfying ``predicate``; ``TimeoutError`` after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for r in self.requests:
                    if predicate(r["json"]):
                        return r["json"]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"no matching webhook within {timeout:.0f}s; got {len(self.requests)}: "
                        f"{[r['json'] for r in self.requests][-3:]!r}"
                    )
                self._cond.wait(remaining)
