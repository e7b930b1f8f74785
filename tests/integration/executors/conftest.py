"""Fixtures for executor tests: a FalkorDB server, a local HTTP server with a health endpoint
and redirects, and ``make_step`` to build classified steps from a command line."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from opsbook.runbooks.classify import classify
from opsbook.runbooks.models import Step
from opsbook.runbooks.variables import find_variables
from tests.support.falkordb import FalkorDBServer
from tests.support.services import ServiceUnavailable


@pytest.fixture(scope="session")
def falkordb_server() -> Iterator[FalkorDBServer]:
    try:
        server = FalkorDBServer()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield server.start()
    finally:
        server.close()


class HealthApp:
    """A tiny HTTP server: /health (JSON), /redirect?to=URL, /slow, /echo (request as JSON)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        app = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                app.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body,
                    }
                )
                if self.path.startswith("/health"):
                    self._send(
                        200, {"status": "ok", "services": {"neo4j": "healthy", "redis": "healthy"}}
                    )
                elif self.path.startswith("/down"):
                    self._send(503, {"status": "down", "services": {"neo4j": "unreachable"}})
                elif self.path.startswith("/stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    try:
                        for n in range(100_000):
                            self.wfile.write(f"data: tick {n}\n\n".encode())
                            self.wfile.flush()
                            time.sleep(0.01)
                    except OSError:
                        pass
                elif self.path.startswith("/redirect"):
                    target = self.path.split("to=", 1)[1]
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._send(
                        200,
                        {
                            "method": self.command,
                            "path": self.path,
                            "body": body,
                            "authorization": self.headers.get("Authorization"),
                        },
                    )

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def health_app() -> Iterator[HealthApp]:
    app = HealthApp()
    try:
        yield app
    finally:
        app.close()


def step_of(text: str, fence: str | None = None, *, safety: str | None = None) -> Step:
    """A classified step for ``text``, as the runbook reader would make it."""
    c = classify(text, fence)
    return Step(
        line=1,
        title="test step",
        text=text,
        executable=c.executable,
        kind=c.kind,
        inner_kind=c.inner_kind,
        safety=safety or c.safety,
        reason=c.reason,
        variables=tuple(find_variables(text)),
    )


@pytest.fixture
def make_step() -> Callable[..., Step]:
    return step_of
