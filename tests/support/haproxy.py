"""A real HAProxy in front of two small HTTP apps (stable and canary), with its runtime API on a
TCP socket and its built-in Prometheus exporter, plus a bounded load generator."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.services import HOST, ManagedProcess, find_binary, free_port, wait_for_port


class VersionApp:
    """An HTTP app answering 200, except one request in ``fail_every`` (a 500) when set: the 3rd,
    then every ``fail_every``-th after it (not the very first: Prometheus's ``rate`` cannot see
    an increase in a series' first sample)."""

    def __init__(self, name: str, fail_every: int = 0) -> None:
        self.name, self.fail_every, self.requests = name, fail_every, 0
        self._lock = threading.Lock()
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms stalls)

            def do_GET(self) -> None:
                with app._lock:
                    app.requests += 1
                    n = app.requests
                failing = app.fail_every and n % app.fail_every == 3 % app.fail_every
                body = f"{app.name} {'error' if failing else 'ok'}\n".encode()
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class HAProxyServer(ManagedProcess):
    """``haproxy -db`` with frontend ``web`` → backend ``app`` (servers v1 weight 100, v2 weight 0),
    the runtime API at ``admin_address`` (level admin) and ``/metrics`` on ``metrics_port``."""

    name = "haproxy"

    def __init__(self, v1_port: int, v2_port: int, *, tmpdir: Path | None = None) -> None:
        self.binary = find_binary(["haproxy"], "haproxy", "OPSBOOK_HAPROXY")
        super().__init__(tmpdir=tmpdir)
        self.admin_port, self.metrics_port = free_port(), free_port()
        self.cfg = self.tmpdir / "haproxy.cfg"
        self.cfg.write_text(
            f"""global
  stats socket ipv4@{HOST}:{self.admin_port} level admin
  maxconn 512
defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend web
  bind {HOST}:{self.port}
  default_backend app
frontend metrics
  bind {HOST}:{self.metrics_port}
  http-request use-service prometheus-exporter if {{ path /metrics }}
backend app
  balance roundrobin
  server v1 {HOST}:{v1_port} weight 100
  server v2 {HOST}:{v2_port} weight 0
"""
        )

    @property
    def admin_address(self) -> str:
        return f"{HOST}:{self.admin_port}"

    @property
    def metrics_target(self) -> str:
        return f"{HOST}:{self.metrics_port}"

    def _argv(self) -> list[str]:
        return [self.binary, "-db", "-f", str(self.cfg)]

    def _wait_ready(self, timeout: float) -> None:
        wait_for_port(HOST, self.port, timeout)
        wait_for_port(HOST, self.admin_port, timeout)
        wait_for_port(HOST, self.metrics_port, timeout)


class Load:
    """Keep-alive GETs to ``port`` from one thread, at most ``rate``/s, until stopped or
    ``max_seconds``/``max_requests`` pass (whichever first)."""

    def __init__(
        self, port: int, rate: float = 150.0, max_seconds: float = 60.0, max_requests: int = 20000
    ) -> None:
        self.port, self.rate = port, rate
        self.max_seconds, self.max_requests = max_seconds, max_requests
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _connect(self) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
        conn.connect()
        assert conn.sock is not None
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no delayed-ACK stalls
        return conn

    def _run(self) -> None:
        start = time.monotonic()
        conn = self._connect()
        while not self._stop.is_set() and self.sent < self.max_requests:
            if time.monotonic() - start > self.max_seconds:
                break
            try:
                conn.request("GET", "/")
                conn.getresponse().read()
            except (OSError, http.client.HTTPException):
                conn.close()
                try:
                    conn = self._connect()
                except OSError:
                    time.sleep(0.05)
                    continue
            self.sent += 1
            ahead = self.sent / self.rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
        conn.close()
