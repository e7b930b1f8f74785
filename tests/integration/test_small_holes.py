"""The smaller holes of issue 11, replayed through the real API on SQLite and PostgreSQL.

Reload is an operator's act, not a tenant admin's; the access log never holds a one-tap link's
token; /readyz says 503 while the database refuses writes; startsAt in year 1 or 9999 is the
receipt time with a note on the timeline, and MTTD stays non-negative.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import create_engine, make_url, text

from opsbook.notify import links
from tests.support.app import TEST_CONFIG, Harness, am_alert, am_body, running_app

SECRET = "s3cret-link-key-0123456789"


def test_only_an_operator_token_reloads_the_global_config(h: Harness, tmp_path: Path) -> None:
    st = h.client.app.state.opsbook  # type: ignore[attr-defined]
    config = tmp_path / "opsbook.yaml"
    config.write_text(TEST_CONFIG)
    st.config_path = config
    for role in ("admin", "commander", "viewer", "intake"):
        headers = h.intake() if role == "intake" else h.auth("acme", role)
        r = h.client.post("/-/reload", headers=headers)
        assert r.status_code == 403, (role, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "operator token" in r.json()["detail"]
    assert h.client.post("/-/reload", headers=h.auth("globex", "admin")).status_code == 403
    assert h.client.post("/-/reload").status_code == 401
    r = h.client.post("/-/reload", headers=h.operator())
    assert r.status_code == 200 and r.json()["status"] == "reloaded", r.text
    # the operator token reloads and does nothing else: no tenant's data
    r = h.client.get("/api/v1/incidents", headers=h.operator())
    assert r.status_code == 403 and "operator token" in r.json()["detail"]
    config.write_text("tenants: [{name: acme}\n")  # broken: the running config is kept
    r = h.client.post("/-/reload", headers=h.operator())
    assert r.status_code == 422 and "kept the previous configuration" in r.json()["detail"]


def test_the_access_log_never_holds_a_link_token(db_url: str) -> None:
    with running_app(db_url, secret_key=SECRET) as h:
        inc = h.post_am(am_body(am_alert("CheckoutDown", job="checkout", severity="critical")))
        incident_id = inc["incidents"][0]
        token = links.sign(
            "acknowledge", incident_id, "bob", h.clock.now() + timedelta(hours=1), SECRET
        )
        with structlog.testing.capture_logs() as logs:
            shown = h.client.get(f"/api/v1/links/{token}", headers={"Accept": "application/json"})
            used = h.client.post(f"/api/v1/links/{token}", headers={"Accept": "application/json"})
            again = h.client.post(f"/api/v1/links/{token}?t={token}")  # used up, token in query
        assert shown.status_code == 200 and used.json()["status"] == "acknowledged", used.text
        assert again.status_code == 410
        lines = [e for e in logs if e.get("event") == "request"]
        assert len(lines) == 3, logs
        assert all(e["path"] == "/api/v1/links/[redacted]" for e in lines), lines
        mac = token.rsplit(".", 1)[1]
        assert not any(mac in repr(e) or token.split(".")[1] in repr(e) for e in logs), logs


def _hold_sqlite_write_lock(url: str) -> sqlite3.Connection:
    """Another writer holding the database's write lock (BEGIN IMMEDIATE, not committed)."""
    path = make_url(url).database
    assert path
    other = sqlite3.connect(path, isolation_level=None, timeout=0.1)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_readyz_is_503_while_the_database_refuses_writes(h: Harness) -> None:
    assert h.client.get("/readyz").json()["status"] == "ready"
    if h.url.startswith("sqlite"):
        other = _hold_sqlite_write_lock(h.url)
        try:
            r = h.client.get("/readyz")
        finally:
            other.rollback()
            other.close()
        assert "locked" in r.json()["detail"]
    else:  # a failed-over primary that is now read-only: new sessions cannot write
        admin = create_engine(h.url, isolation_level="AUTOCOMMIT")
        name = make_url(h.url).database
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        st = h.client.app.state.opsbook  # type: ignore[attr-defined]
        st.engine.dispose()  # the pool's next connections are the read-only ones
        try:
            r = h.client.get("/readyz")
        finally:
            with admin.connect() as c:
                c.execute(text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only'))
            admin.dispose()
            st.engine.dispose()
        assert "read-only" in r.json()["detail"]
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["retry-after"] == "5"
    assert "does not accept writes" in r.json()["detail"]
    assert h.client.get("/readyz").status_code == 200  # writes work again: ready again


def _alert(name: str, starts: str) -> dict[str, Any]:
    a = am_alert(name, job="checkout", severity="critical")
    a["startsAt"] = starts
    return a


def test_year_1_and_9999_start_times_are_receipt_time_and_noted(h: Harness) -> None:
    received = h.clock.now()
    opened = h.post_am(
        am_body(
            _alert("YearOne", "0001-06-01T00:00:00Z"),
            _alert("ZeroTime", "0001-01-01T00:00:00Z"),  # Go's zero time, claimed as a start
            _alert("YearNineK", "9999-12-31T23:59:59Z"),
            _alert("Ordinary", "2026-01-01T11:57:00Z"),  # 3 minutes before receipt
        )
    )
    assert opened["outcomes"] == {"opened": 4}
    notes = {}
    for incident_id in opened["incidents"]:
        d = h.incident(incident_id)
        [alert] = d["alerts"]
        notes[d["group_labels"]["alertname"]] = [
            e["message"] for e in d["timeline"] if e["kind"] == "comment"
        ]
        if alert["alertname"] != "Ordinary":
            assert alert["starts_at"] == "2026-01-01T12:00:00Z", alert
    assert notes["YearOne"] == [
        "alert YearOne: startsAt 0001-06-01T00:00:00Z was out of range; receipt time used"
    ]
    assert notes["YearNineK"] == [
        "alert YearNineK: startsAt 9999-12-31T23:59:59Z was out of range; receipt time used"
    ]
    assert notes["ZeroTime"] == [
        "alert ZeroTime: startsAt 0001-01-01T00:00:00Z was out of range; receipt time used"
    ]
    assert notes["Ordinary"] == []
    h.clock.set(received + timedelta(minutes=10))
    report = h.client.get("/api/v1/reports?since=1d", headers=h.auth("acme", "viewer")).json()
    mttd = report["overall"]["mttd_seconds"]
    assert mttd["count"] == 4 and mttd["mean"] == 45.0, mttd  # (0 + 0 + 0 + 180) / 4, never < 0
    assert report["overall"]["incidents"] == 4


def test_a_request_over_its_time_budget_is_answered_503(tmp_path: Path) -> None:
    """A handler stuck behind a lock (here /readyz waiting on another writer) cannot hold its
    client past OPSBOOK_REQUEST_TIMEOUT; the rest of the server keeps answering."""
    url = f"sqlite:///{tmp_path}/budget.db"
    with running_app(url, request_timeout=0.3, run_worker=False) as h:
        other = _hold_sqlite_write_lock(url)
        try:
            began = time.perf_counter()
            r = h.client.get("/readyz")
            took = time.perf_counter() - began
        finally:
            other.rollback()
            other.close()
        assert r.status_code == 503 and r.json()["title"] == "request timed out", r.text
        assert r.headers["retry-after"] == "5"
        assert 0.3 <= took < 0.9, took  # the probe alone would wait 1 s for the lock
        assert h.client.get("/healthz").status_code == 200
        assert h.client.get("/api/v1/incidents", headers=h.auth()).status_code == 200
