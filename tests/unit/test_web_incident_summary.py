"""The incident page's at-a-glance parts: which alert links become links (only http(s), never a
``javascript:`` annotation), the summary an alert gives, and the "5 min ago" beside times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opsbook.api.schemas import AlertOut
from opsbook.web.incident_summary import alert_links, summary
from opsbook.web.render import ago, human

NOW = datetime(2026, 12, 4, 3, 12, 5, tzinfo=UTC)


def _alert(status: str = "firing", generator: str = "", **annotations: Any) -> AlertOut:
    return AlertOut(
        id="al_1", fingerprint="f", alertname="CacheDown", status=status, severity="P0",
        source="alertmanager", integration="alertmanager", labels={}, annotations=annotations,
        starts_at=None, ends_at=None, generator_url=generator, first_received_at=NOW,
        last_received_at=NOW, receive_count=1,
    )  # fmt: skip


def test_links_are_http_only_and_named() -> None:
    a = _alert(
        generator="https://prom.example.com/graph?g0.expr=up",
        runbook_url="javascript:alert(1)",
        runbook="https://wiki.example.com/cache",
        dashboard_url="https://grafana.example.com/d/x",
        silenceURL="/relative/silence",
    )
    assert alert_links(a) == [
        ("Source", "https://prom.example.com/graph?g0.expr=up"),
        ("Runbook", "https://wiki.example.com/cache"),
        ("Dashboard", "https://grafana.example.com/d/x"),
    ]
    assert alert_links(_alert(generator="javascript:alert(1)")) == []


def test_summary_prefers_a_firing_alert() -> None:
    resolved = _alert("resolved", summary="old news")
    firing = _alert(summary="The cache answers no PING", description="Clients fall back.")
    assert summary([resolved, firing]) == ("The cache answers no PING", "Clients fall back.")
    assert summary([]) == ("", "")


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=10), "just now"),
        (timedelta(minutes=5), "5 min ago"),
        (timedelta(hours=3), "3 h ago"),
        (timedelta(days=2), "2 d ago"),
        (timedelta(minutes=-10), "in 10 min"),
    ],
)
def test_ago(delta: timedelta, text: str) -> None:
    assert ago(NOW - delta, NOW) == text


def test_human_is_dated_utc() -> None:
    assert human(NOW) == "2026-12-04 03:12:05 UTC"
