"""A real ``opsbook serve`` subprocess for end-to-end tests.

:class:`OpsbookServer` writes a config to a temp dir, picks a free loopback port, starts
``opsbook serve`` against a SQLite file there (or any ``database_url``, e.g. a PostgreSQL
database from the ``postgres_db`` fixture) and waits until ``/readyz`` answers 200::

    with OpsbookServer() as srv:
        intake = srv.create_token("acme", integration="alertmanager")
        viewer = srv.create_token("acme", role="viewer")
        srv.post("/api/v1/integrations/alertmanager", intake, json=body)
        srv.kill()      # SIGKILL, as a crash would
        srv.start()     # same port, same database, same config
        srv.sighup()    # reload the config

No orphans: the server runs in its own process group, is stopped with SIGTERM then SIGKILL,
and through util-linux ``setpriv --pdeathsig`` gets SIGKILL if the thread that started it dies
(start servers from the main thread). An ``atexit`` hook stops whatever a crashed test left.

Only loopback addresses are used. Logs (JSON, one line per event) go to ``log_path``; restarts
append to the same file, so a failure message can show the whole story with :meth:`log_tail`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from tests.support.app import TEST_CONFIG
from tests.support.services import HOST, free_port

__all__ = ["OPSBOOK_EXE", "OpsbookServer", "ServerDied", "wait_until"]

_REPO = Path(__file__).resolve().parents[2]


def _find_exe() -> str:
    """The ``opsbook`` console script of the venv running the tests (else the one on PATH)."""
    for candidate in (Path(sys.executable).parent / "opsbook", _REPO / ".venv" / "bin" / "opsbook"):
        if candidate.exists():
            return str(candidate)
    return shutil.which("opsbook") or "opsbook"


OPSBOOK_EXE = _find_exe()

T = TypeVar("T")


class ServerDied(RuntimeError):
    """The server process exited when it should be running; the message carries its log tail."""


def wait_until(
    fn: Callable[[], T | None],
    timeout: float,
    *,
    interval: float = 0.1,
    what: str = "condition",
    describe: Callable[[], str] | None = None,
) -> T:
    """Poll ``fn`` until it returns something truthy and return that; ``AssertionError`` after ``timeout`` s.

    ``describe`` (optional) adds context to the failure, e.g. the server's log tail.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            extra = f"\n{describe()}" if describe else ""
            raise AssertionError(
                f"{what} not reached within {timeout:.0f}s (last: {last!r}){extra}"
            )
        time.sleep(interval)


_LIVE: weakref.WeakSet[OpsbookServer] = weakref.WeakSet()


@atexit.register
def _stop_all_at_exit() -> None:
    for srv in list(_LIVE):
        with contextlib.suppress(Exception):
            srv.stop()


def _pdeathsig(argv: list[str]) -> list[str]:
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--", *argv] if setpriv else argv


class OpsbookServer:
    """``opsbook serve`` on ``127.0.0.1:<free port>`` with a temp config and database.

    ``database_url`` defaults to a SQLite file in the temp dir (``serve`` migrates it itself);
    for PostgreSQL the database is upgraded with ``opsbook db upgrade`` before the first start.
    ``env`` adds ``OPSBOOK_*`` settings (e.g. ``OPSBOOK_TOKEN_CACHE_SECONDS``).
    """

    start_timeout = 45.0

    def __init__(
        self,
        config_text: str = TEST_CONFIG,
        *,
        database_url: str | None = None,
        tmpdir: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._own_tmp = tmpdir is None
        self.tmpdir = Path(tmpdir or tempfile.mkdtemp(prefix="opsbook-serve-"))
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.tmpdir / "opsbook.yaml"
        self.config_path.write_text(config_text)
        self.database_url = database_url or f"sqlite:///{self.tmpdir / 'opsbook.db'}"
        self.log_path = self.tmpdir / "opsbook.log"
        self.extra_env = dict(env or {})
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._upgraded = False

    # ------------------------------------------------------------------ addresses and env

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:P``."""
        return f"http://{HOST}:{self.port}"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def env(self, **extra: str) -> dict[str, str]:
        """The environment ``opsbook`` commands run with: our own minus any OPSBOOK_* leaking in."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOOK_")}
        base.update(
            OPSBOOK_DATABASE_URL=self.database_url,
            OPSBOOK_CONFIG=str(self.config_path),
            OPSBOOK_LOG_FORMAT="json",
            PYTHONUNBUFFERED="1",
        )
        base.update(self.extra_env)
        base.update(extra)
        return base

    # ------------------------------------------------------------------ the CLI

    def cli(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        timeout: float = 60.0,
        check: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``opsbook ARGS`` with this server's database, config and URL in the environment."""
        full_env = self.env(OPSBOOK_URL=self.url, **dict(env or {}))
        proc = subprocess.run(
            [OPSBOOK_EXE, *args],
            env=full_env,
            cwd=self.tmpdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"`opsbook {' '.join(args)}` exited {proc.returncode}\n"
                f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
            )
        return proc

    def upgrade(self) -> None:
        """``opsbook db upgrade`` (needed once for PostgreSQL; harmless for SQLite)."""
        self.cli("db", "upgrade", check=True)
        self._upgraded = True

    def create_token(
        self,
        tenant: str,
        *,
        role: str | None = None,
        integration: str | None = None,
        name: str | None = None,
    ) -> str:
        """``opsbook tokens create …``; returns the secret it printed alone on stdout."""
        if not self._upgraded and not self.is_sqlite:
            self.upgrade()
        args = ["tokens", "create", "--tenant", tenant, "--config", str(self.config_path)]
        if role:
            args += ["--role", role]
        if integration:
            args += ["--integration", integration]
        if name:
            args += ["--name", name]
        out = self.cli(*args, check=True).stdout
        lines = out.splitlines()
        assert len(lines) == 1 and lines[0].strip(), (
            f"expected the token alone on stdout, got {out!r}"
        )
        return lines[0].strip()

    def create_tokens(self, specs: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
        """Several tokens at once, in-process (one CLI start costs ~2 s): ``{"viewer": {"tenant":
        "acme", "role": "viewer"}, …}`` → ``{"viewer": secret, …}``. Uses the flow the CLI uses."""
        from opsbook.config.load import load_config
        from opsbook.core.clock import SystemClock
        from opsbook.flows.tokens import create_token
        from opsbook.storage import migrate
        from opsbook.storage.db import make_engine, make_sessionmaker

        config = load_config(self.config_path)
        engine = make_engine(self.database_url)
        try:
            if not migrate.is_current(engine):
                if not self.is_sqlite:
                    engine.dispose()
                    self.upgrade()
                    engine = make_engine(self.database_url)
                else:
                    migrate.upgrade(engine)
            out: dict[str, str] = {}
            with make_sessionmaker(engine).begin() as s:
                for key, spec in specs.items():
                    _, secret = create_token(s, config, SystemClock().now(), **spec)
                    out[key] = secret
            return out
        finally:
            engine.dispose()

    # ------------------------------------------------------------------ process control

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        assert self.proc is not None, "server not started"
        return self.proc.pid

    def _spawn(self) -> None:
        argv = [OPSBOOK_EXE, "serve", "--config", str(self.config_path),
                "--port", str(self.port), "--host", HOST]  # fmt: skip
        with open(self.log_path, "ab") as log:
            log.write(f"--- start #{self.starts + 1} on {self.url} ---\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                _pdeathsig(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.tmpdir,
                env=self.env(),
                start_new_session=True,
            )
        _LIVE.add(self)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as http:
            while True:
                if not self.running:
                    raise ServerDied(f"opsbook serve exited before it was ready\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(f"{self.url}/readyz").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{self.url}/readyz not 200 within {timeout:.0f}s\n{self.log_tail()}"
                    )
                time.sleep(0.05)

    def start(self, timeout: float | None = None) -> Self:
        """Start (or restart) on the same port and database; return once ``/readyz`` is 200.

        The first start retries on a new port if another process grabbed ours in between.
        """
        if self.running:
            return self
        if not self._upgraded and not self.is_sqlite:
            self.upgrade()
        attempts = 3 if self.starts == 0 else 1
        for attempt in range(attempts):
            self._spawn()
            try:
                self._wait_ready(timeout or self.start_timeout)
            except (ServerDied, TimeoutError):
                self._signal_group(signal.SIGKILL)
                self._reap(5)
                if "address already in use" in self.log_tail().lower() and attempt + 1 < attempts:
                    self.port = free_port()
                    continue
                raise
            break
        self.starts += 1
        return self

    def _signal_group(self, sig: int) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)

    def _reap(self, timeout: float) -> int | None:
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            return self.proc.wait(5)

    def kill(self) -> None:
        """SIGKILL the server (no shutdown code runs), as a crash or the OOM killer would."""
        self._signal_group(signal.SIGKILL)
        self._reap(10)
        self.proc = None

    def stop(self, grace: float = 10.0) -> int | None:
        """SIGTERM, wait up to ``grace`` s, then SIGKILL; returns the exit code (None if not running)."""
        if self.proc is None:
            return None
        code = self.proc.poll()
        if code is None:
            self._signal_group(signal.SIGTERM)
            code = self._reap(grace)
        self._signal_group(signal.SIGKILL)  # anything left in the group
        self.proc = None
        _LIVE.discard(self)
        return code

    def restart(self) -> Self:
        """Graceful stop, then start on the same port and database."""
        self.stop()
        return self.start()

    def sighup(self) -> None:
        """Ask the server to reload its config file."""
        if not self.running:
            raise ServerDied(f"server is not running\n{self.log_tail()}")
        os.kill(self.pid, signal.SIGHUP)

    def write_config(self, text: str) -> None:
        """Replace the config file atomically (a reload never sees half a file)."""
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(self.config_path)

    def close(self) -> None:
        """Stop and delete the temp dir (when we made it)."""
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

    # ------------------------------------------------------------------ logs and HTTP

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "opsbook log tail:\n" + "\n".join(self.log_text().splitlines()[-lines:])

    def client(self, token: str | None = None, timeout: float = 10.0) -> httpx.Client:
        """An ``httpx.Client`` on this server, with ``token`` as the Bearer (close it, or use ``with``)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        """One-off GET (opens and closes a connection)."""
        with self.client(token) as c:
            return c.get(path, **kwargs)

    def post(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        """One-off POST (opens and closes a connection)."""
        with self.client(token) as c:
            return c.post(path, **kwargs)

    def incidents(self, token: str, **params: Any) -> list[dict[str, Any]]:
        """Every incident matching ``params`` (follows pagination)."""
        items: list[dict[str, Any]] = []
        with self.client(token) as c:
            offset = 0
            while True:
                r = c.get("/api/v1/incidents", params={**params, "limit": 500, "offset": offset})
                assert r.status_code == 200, r.text
                page = r.json()
                items.extend(page["items"])
                offset += len(page["items"])
                if not page["items"] or offset >= page["total"]:
                    return items

    def incident(self, token: str, incident_id: str) -> dict[str, Any]:
        """The incident with all its alerts (follows ``alerts_next`` pages)."""
        r = self.get(f"/api/v1/incidents/{incident_id}", token)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        more = body.get("alerts_next")
        while more:
            page = self.get(more, token)
            assert page.status_code == 200, page.text
            body["alerts"] += page.json()["items"]
            more = page.json()["next"]
        return body
