"""Suite-wide fixtures: the real services (Redis, PostgreSQL, Prometheus, Alertmanager) and seeds.

Servers start on free loopback ports (one set per xdist worker) and are stopped at the end,
also on failure. A missing binary skips the tests that need it with a reason naming the Debian
package and ``make test-deps``; in CI everything is installed, so they really run.

Helpers for tests live in ``tests.support.services`` (``MetricExporter``, ``WebhookReceiver``,
``alertmanager_webhook_config``, …).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

# pytest-xdist's workers set COLUMNS=80 for their own terminal writer; the CLI shortens tables to
# COLUMNS, so commands run by the tests would print differently under -n 2 than alone. The CLI's
# own width handling is tested with COLUMNS set explicitly (tests/unit/cli/test_render.py).
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # make ``tests.support`` importable however pytest was started
    sys.path.insert(0, str(ROOT))

from tests.support.services import (  # noqa: E402
    AlertmanagerServer,
    PostgresServer,
    PrometheusServer,
    RedisServer,
    ServiceUnavailable,
)

SEEDS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Make ``--dist loadgroup`` honour ``xdist_group`` marks again under pytest 9.

    pytest-xdist 3.8 tags grouped tests by rewriting ``item._nodeid`` to ``<id>@<group>``;
    pytest 9 keeps node ids in ``item._id`` (a ``NodeId``), so the tag is lost and grouped
    tests silently spread over workers. Apply the same tag where it is missing; no-op
    elsewhere. Drop this once pytest-xdist supports pytest 9's node ids.
    """
    if not getattr(config.option, "loadgroup", False):
        return
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # pytest < 9: xdist's own hook works
        return
    for item in items:
        groups = {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
        if groups and "@" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(sorted(groups))}")  # type: ignore[attr-defined]


_S = TypeVar("_S", RedisServer, PostgresServer)


def _start_or_skip(factory: Callable[[], _S]) -> _S:
    """Build and start a server, or skip with the install hint when its binary is missing."""
    try:
        server = factory()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    try:
        return server.start()
    except BaseException:
        server.close()
        raise


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A session-wide ``redis-server`` (no persistence); use ``.url`` or ``.url_for(db)``."""
    server = _start_or_skip(RedisServer)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A session-wide PostgreSQL 15: ``.url`` (SQLAlchemy), ``.create_database(name)``,
    ``.stop()``/``.start()`` and ``with .stopped():`` for outage tests.

    A test that stops it must start it again (``stopped()`` does so even on failure);
    ``postgres_db`` restarts it if a test forgot.
    """
    server = _start_or_skip(PostgresServer)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def postgres_db(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database for this test; returns its SQLAlchemy URL."""
    if not postgres_server.running:
        postgres_server.start()
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    return postgres_server.create_database(name)


PrometheusFactory = Callable[..., PrometheusServer]
AlertmanagerFactory = Callable[..., AlertmanagerServer]


@pytest.fixture
def prometheus_factory() -> Iterator[PrometheusFactory]:
    """``prometheus_factory(rules=yaml, targets=[...], alertmanager_url=url|None, **kw)``
    starts a Prometheus (1 s scrape/evaluation) and stops it when the test ends."""
    started: list[PrometheusServer] = []

    def make(*args: Any, **kwargs: Any) -> PrometheusServer:
        try:
            server = PrometheusServer(*args, **kwargs)
        except ServiceUnavailable as exc:
            pytest.skip(str(exc))
        started.append(server)
        return server.start()

    try:
        yield make
    finally:
        for server in reversed(started):
            server.close()


@pytest.fixture
def alertmanager_factory() -> Iterator[AlertmanagerFactory]:
    """``alertmanager_factory(config_yaml)`` starts an Alertmanager and stops it at test end."""
    started: list[AlertmanagerServer] = []

    def make(config_yaml: str, **kwargs: Any) -> AlertmanagerServer:
        try:
            server = AlertmanagerServer(config_yaml, **kwargs)
        except ServiceUnavailable as exc:
            pytest.skip(str(exc))
        started.append(server)
        return server.start()

    try:
        yield make
    finally:
        for server in reversed(started):
            server.close()


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    """The five seed runbooks shipped next to the repo in ``../shared/seeds``."""
    if not SEEDS_DIR.is_dir():
        pytest.skip(f"seed runbooks not found at {SEEDS_DIR} (they live next to the repository)")
    return SEEDS_DIR
