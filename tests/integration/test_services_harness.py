"""The real-service harness works: each server starts, answers, and can be taken down.

If these fail, every integration and e2e test that builds on the fixtures would fail for a
reason that has nothing to do with opsbook, so they are kept small and explicit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import psycopg
import pytest
import redis

from tests.support.services import (
    AlertmanagerServer,
    MetricExporter,
    PostgresServer,
    PrometheusServer,
    RedisServer,
    WebhookReceiver,
    alertmanager_webhook_config,
    port_open,
)


def test_redis_answers_ping_and_keeps_data(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url_for(15))
    try:
        assert client.ping() is True
        client.set("harness", "ok")
        assert client.get("harness") == b"ok"
    finally:
        client.delete("harness")
        client.close()


def _select_one(dsn: str) -> int:
    with psycopg.connect(dsn, connect_timeout=3) as conn:
        row = conn.execute("SELECT 1").fetchone()
        assert row is not None
        return int(row[0])


def test_postgres_goes_down_and_comes_back_on_the_same_port(
    postgres_server: PostgresServer,
) -> None:
    assert postgres_server.url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    assert _select_one(postgres_server.dsn) == 1
    port = postgres_server.port

    with postgres_server.stopped():
        assert not port_open("127.0.0.1", port)
        with pytest.raises(psycopg.OperationalError, match="refused"):
            _select_one(postgres_server.dsn)

    assert postgres_server.port == port
    assert _select_one(postgres_server.dsn) == 1


def test_postgres_create_database_gives_a_clean_database(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database("harness_clean")
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE leftover (id int)")
    # recreating drops what the previous module left behind
    url = postgres_server.create_database("harness_clean")
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'leftover'").fetchone()
        assert row == (0,)


RULES = """
groups:
  - name: harness
    rules:
      - alert: QueueTooDeep
        expr: harness_queue_depth > 10
        for: 0s
        labels: {severity: critical}
        annotations: {summary: "queue depth is {{ $value }}"}
"""


def _fired(body: object) -> bool:
    """True for an Alertmanager v4 webhook body announcing QueueTooDeep firing."""
    return (
        isinstance(body, dict)
        and body.get("version") == "4"
        and body.get("status") == "firing"
        and any(a["labels"].get("alertname") == "QueueTooDeep" for a in body.get("alerts", []))
    )


def _resolved(body: object) -> bool:
    return isinstance(body, dict) and body.get("status") == "resolved"


@pytest.mark.e2e
def test_prometheus_rule_fires_through_alertmanager_to_a_webhook(
    prometheus_factory: Callable[..., PrometheusServer],
    alertmanager_factory: Callable[..., AlertmanagerServer],
) -> None:
    """exporter → Prometheus scrape → alert rule → Alertmanager → webhook receiver, all real."""
    with MetricExporter({"harness_queue_depth": 1}) as exporter, WebhookReceiver() as receiver:
        am: AlertmanagerServer = alertmanager_factory(
            alertmanager_webhook_config(f"{receiver.url}/hook")
        )
        prom = prometheus_factory(rules=RULES, targets=[exporter.target], alertmanager_url=am.url)

        deadline = time.monotonic() + 15
        while not prom.targets_up():
            assert time.monotonic() < deadline, "Prometheus never scraped the exporter"
            time.sleep(0.2)
        assert prom.alerts() == []  # below threshold: nothing fires

        exporter.set("harness_queue_depth", 42)
        started = time.monotonic()
        body = receiver.wait_for(_fired, timeout=30)
        elapsed = time.monotonic() - started

        alert = next(a for a in body["alerts"] if a["labels"]["alertname"] == "QueueTooDeep")
        assert alert["status"] == "firing"
        assert alert["labels"]["severity"] == "critical"
        assert alert["labels"]["job"] == "test"
        assert alert["labels"]["instance"] == exporter.target
        assert alert["annotations"]["summary"] == "queue depth is 42"
        assert body["receiver"] == "webhook"
        assert body["externalURL"] == am.url
        assert receiver.requests[-1]["path"] == "/hook"
        assert json.loads(receiver.requests[-1]["body"]) == receiver.requests[-1]["json"]
        assert elapsed < 30
        assert [a["labels"]["alertname"] for a in am.alerts()] == ["QueueTooDeep"]

        # and back: the value drops, the alert resolves and Alertmanager says so
        exporter.set("harness_queue_depth", 0)
        resolved = receiver.wait_for(_resolved, timeout=30)
        assert resolved["alerts"][0]["status"] == "resolved"
