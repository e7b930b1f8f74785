"""The lean intake path: same answers and errors as the documented models, revocation honoured
within a second on every replica, concurrent requests sharing commits, documented bodies."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from opsbook.api.app import create_app
from opsbook.api.auth import TokenCache
from opsbook.core.settings import Settings
from opsbook.flows.group_commit import GroupCommitter
from opsbook.flows.ingest import IngestBatch
from opsbook.intake import decode
from opsbook.storage.db import make_engine, make_sessionmaker
from opsbook.testing import FrozenClock
from tests.support.app import Harness, am_alert, am_body, migrated, running_app

AM = "/api/v1/integrations/alertmanager"
V2 = "/api/v2/alerts"


class FakeMonotonic:
    """A monotonic clock the test moves by hand (token cache ages)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sqlite_h(tmp_path: Path) -> Iterator[Harness]:
    with running_app(f"sqlite:///{tmp_path}/fast.db") as h:
        yield h


def test_prometheus_posts_open_group_and_deduplicate_through_the_lean_route(
    sqlite_h: Harness,
) -> None:
    h = sqlite_h
    alert = {
        "labels": {"alertname": "DiskFull", "job": "checkout", "instance": "a"},
        "annotations": {"summary": "disk full on a"},
        "startsAt": "2026-01-01T11:59:00.123456789Z",
        "endsAt": "2026-01-01T14:30:00+02:00",
        "generatorURL": "http://prometheus.local/graph",
    }
    other = {**alert, "labels": {**alert["labels"], "instance": "b"}}
    r = h.client.post(V2, json=[alert, other], headers=h.intake())
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["status"] == "success" and body["alerts"] == 2
    assert body["outcomes"] == {"opened": 1, "grouped": 1} and len(body["incidents"]) == 1
    again = h.client.post(V2, json=[alert], headers=h.intake()).json()
    assert again["outcomes"] == {"deduplicated": 1} and again["incidents"] == body["incidents"]
    detail = h.incident(body["incidents"][0])
    assert {a["labels"]["instance"] for a in detail["alerts"]} == {"a", "b"}
    assert detail["alerts"][0]["generator_url"] == "http://prometheus.local/graph"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"[{}]", 422, "0.labels"),
        (b'[{"labels": {"a": 1}}]', 422, "0.labels.a"),
        (b'[{"labels": {"": "x"}}]', 422, "0.labels."),
        (b'[{"labels": {"a": "b"}, "startsAt": "soon"}]', 422, "0.startsAt"),
        (b'[{"labels": {"a": "b"}, "generatorURL": null}]', 422, "0.generatorURL"),
        (b'{"labels": {"a": "b"}}', 422, "body"),
        (b"[{]", 422, "body"),
    ],
)
def test_bad_v2_bodies_name_the_field_as_the_model_does(
    sqlite_h: Harness, body: bytes, status: int, field: str
) -> None:
    """/api/v2/ speaks Alertmanager's error dialect (400, a JSON string), naming the field."""
    h = sqlite_h
    r = h.client.post(V2, content=body, headers={**h.intake(), "content-type": "application/json"})
    assert r.status_code in (status, 400), r.text
    assert field.split(".")[-1] in r.text
    assert h.incidents() == []


def test_a_v2_body_with_unusual_but_valid_times_is_still_accepted(sqlite_h: Harness) -> None:
    """Times the fast path does not parse itself (a date alone, a lowercase ``t``) go to the
    model, which accepts them, as before."""
    h = sqlite_h
    alerts = [
        {"labels": {"alertname": "A", "i": "1"}, "startsAt": "2026-01-01"},
        {"labels": {"alertname": "A", "i": "2"}, "startsAt": "2026-01-01t11:00:00z"},
    ]
    r = h.client.post(V2, json=alerts, headers=h.intake())
    assert r.status_code == 200 and r.json()["alerts"] == 2, r.text


def test_events_decoded_fast_answer_as_before(sqlite_h: Harness) -> None:
    h = sqlite_h
    trig = {
        "event_action": "trigger",
        "dedup_key": "disk-1",
        "payload": {"summary": "disk", "source": "host-1", "severity": "critical", "class": "Disk"},
        "client_url": "http://monitor.local/x",
    }
    r = h.client.post("/api/v1/events", json=trig, headers=h.intake())
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "success" and body["message"] == "event opened"
    assert body["dedup_key"] == "disk-1" and body["incident_id"]
    inc = h.incident(body["incident_id"])
    assert inc["severity"] == "P0" and inc["alerts"][0]["labels"]["alertname"] == "Disk"
    # custom details take the model's path: same answer shape, deduplicated by the key
    r = h.client.post(
        "/api/v1/events",
        json={**trig, "payload": {**trig["payload"], "custom_details": {"free": [1, 2]}}},
        headers=h.intake(),
    )
    assert r.status_code == 202 and r.json()["incident_id"] == body["incident_id"]


def test_openapi_still_documents_the_intake_bodies_and_answers(sqlite_h: Harness) -> None:
    spec = sqlite_h.client.get("/openapi.json").json()
    for path, prop in ((AM, "alerts"), (V2, "labels"), ("/api/v1/events", "event_action")):
        op = spec["paths"][path]["post"]
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        assert prop in str(schema), path
        assert "$defs" not in str(schema)
        assert op["security"] == [{"HTTPBearer": []}]
        ok = "202" if path == "/api/v1/events" else "200"
        assert "$ref" in str(op["responses"][ok]["content"]["application/json"]["schema"])
        assert "422" in op["responses"]


def _replica(url: str, h: Harness, monotonic: FakeMonotonic) -> TestClient:
    """A second server process on the same database (its own caches and committer)."""
    app = create_app(Settings(database_url=url, run_worker=False), h.config, clock=h.clock)
    app.state.token_cache = TokenCache(5.0, monotonic=monotonic)
    return TestClient(app)


def test_a_revoked_token_is_refused_within_a_second_on_every_replica(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/replicas.db"
    ticks = FakeMonotonic()
    with running_app(url, run_worker=False) as a:
        a.client.app.state.token_cache = TokenCache(5.0, monotonic=ticks)  # type: ignore[attr-defined]
        with _replica(url, a, ticks) as b:
            viewer = a.auth("acme", "viewer")
            for client in (a.client, b):  # both replicas have the tokens cached
                assert (
                    client.post(AM, json=am_body(am_alert("X")), headers=a.intake()).status_code
                    == 200
                )
                assert client.get("/api/v1/incidents", headers=viewer).status_code == 200
            tokens = a.client.get("/api/v1/tokens", headers=a.auth("acme", "admin")).json()
            for name in ("alertmanager", "acme-viewer"):
                tid = next(t["id"] for t in tokens if t["name"] == name)
                r = a.client.delete(f"/api/v1/tokens/{tid}", headers=a.auth("acme", "admin"))
                assert r.status_code == 200
            # the replica that revoked refuses at once
            assert (
                a.client.post(AM, json=am_body(am_alert("X")), headers=a.intake()).status_code
                == 401
            )
            ticks.now += 1.0  # one second later the other replica refuses too
            r = b.post(AM, json=am_body(am_alert("Y")), headers=a.intake())
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
            assert b.get("/api/v1/incidents", headers=viewer).status_code == 401
            listed = a.client.get("/api/v1/incidents", headers=a.auth("acme", "admin")).json()
            assert [i["title"] for i in listed["items"]] == ["X summary"]


def test_a_cached_token_is_rechecked_in_the_background_before_it_expires(tmp_path: Path) -> None:
    """Past half its life an entry is looked up again while requests are still served from
    the cache, so a busy intake never waits for the token table; revocation lands then."""
    url = f"sqlite:///{tmp_path}/recheck.db"
    ticks = FakeMonotonic()
    with running_app(url, run_worker=False) as a, _replica(url, a, ticks) as b:
        assert b.post(AM, json=am_body(am_alert("X")), headers=a.intake()).status_code == 200
        tokens = a.client.get("/api/v1/tokens", headers=a.auth("acme", "admin")).json()
        tid = next(t["id"] for t in tokens if t["name"] == "alertmanager")
        a.client.delete(f"/api/v1/tokens/{tid}", headers=a.auth("acme", "admin"))
        ticks.now += 0.6  # stale: served from the cache, re-checked behind it
        assert b.post(AM, json=am_body(am_alert("X")), headers=a.intake()).status_code == 200
        cache: TokenCache = b.app.state.token_cache  # type: ignore[attr-defined]
        for _ in range(200):  # the background lookup finishes on the app's loop
            if not cache._refreshing:
                break
            b.get("/healthz")
        assert b.post(AM, json=am_body(am_alert("X")), headers=a.intake()).status_code == 401


def test_concurrent_requests_share_commits(tmp_path: Path) -> None:
    """Fifty requests in flight at once are committed in a few transactions, each answered
    with its own outcome only after the transaction holding it committed."""
    from opsbook.config.load import parse_config
    from tests.support.app import TEST_CONFIG

    url = f"sqlite:///{tmp_path}/group.db"
    migrated(url)
    config = parse_config(TEST_CONFIG)
    engine = make_engine(url)
    commits: list[int] = []
    event.listen(engine, "commit", lambda _conn: commits.append(1))
    committer = GroupCommitter(make_sessionmaker(engine), lambda: config, FrozenClock())

    def batch(i: int) -> IngestBatch:
        alerts = decode.prometheus(
            [{"labels": {"alertname": "Load", "job": "checkout", "i": str(i)}}],
            FrozenClock().now(),
        )
        return IngestBatch("acme", "prometheus", alerts)

    async def storm() -> list[Any]:
        return await asyncio.gather(*(committer.submit(batch(i)) for i in range(50)))

    # its own thread: an earlier test in this worker (Playwright's sync API) may have left an
    # event loop set on the main thread, where asyncio.run() refuses to start
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        results = pool.submit(asyncio.run, storm()).result()
    engine.dispose()
    outcomes = [r.outcomes for r in results]
    assert outcomes[0] == ["opened"] and outcomes[1:] == [["grouped"]] * 49
    assert len({r.incident_ids[0] for r in results}) == 1
    assert 1 <= len(commits) <= 3, commits


class _Counted:
    """Counts requests that went through the whole middleware stack (``IntakeFastApp._whole``
    after a read body, or ``super().__call__`` before one)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from starlette.applications import Starlette

        self.whole = 0
        original = Starlette.__call__

        async def counted(app: Any, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                self.whole += 1
            await original(app, scope, receive, send)

        monkeypatch.setattr(Starlette, "__call__", counted)


def _v2(instance: str) -> list[dict[str, Any]]:
    return [{"labels": {"alertname": "DiskFull", "job": "checkout", "instance": instance}}]


def test_a_plain_post_skips_the_stack_and_answers_as_the_route_does(
    sqlite_h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = sqlite_h
    counted = _Counted(monkeypatch)
    first = h.client.post(V2, json=_v2("a"), headers=h.intake())  # token not cached yet: stack
    assert first.status_code == 200, first.text
    assert counted.whole == 1
    second = h.client.post(V2, json=_v2("b"), headers={**h.intake(), "X-Request-ID": "abc-1"})
    assert second.status_code == 200, second.text
    assert counted.whole == 1  # the short path answered
    assert second.headers["x-request-id"] == "abc-1"
    assert second.headers["content-type"] == first.headers["content-type"]
    assert second.json().keys() == first.json().keys()
    assert second.json()["outcomes"] == {"grouped": 1}
    assert h.post_am(am_body(am_alert("Other", job="checkout")))["alerts"] == 1
    # anything unusual goes through the stack and gets its usual answer
    for body, headers, status in (
        (b"[", {"content-type": "application/json"}, 400),  # not JSON: Alertmanager's 400
        (b"[{}]", {"content-type": "application/json"}, 400),  # no labels
        (b"[]", {"content-type": "text/plain"}, 400),  # not JSON-typed
        (b"[" * 70 + b"]" * 70, {"content-type": "application/json"}, 400),  # too deep
    ):
        before = counted.whole
        r = h.client.post(V2, content=body, headers={**h.intake(), **headers})
        assert r.status_code == status, (body[:20], r.text)
        assert counted.whole == before + 1
    r = h.client.post(V2, json=_v2("c"), headers=h.auth("acme", "viewer"))  # not an intake token
    assert r.status_code == 403
    assert len(h.incidents()) == 2


def test_storage_trouble_and_the_time_budget_answer_as_the_stack_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsbook.core.errors import StorageUnavailable

    with running_app(f"sqlite:///{tmp_path}/b.db", request_timeout=0.2) as h:
        assert h.client.post(V2, json=_v2("a"), headers=h.intake()).status_code == 200
        committer = h.client.app.state.opsbook.committer  # type: ignore[attr-defined]

        def failing(batch: IngestBatch) -> asyncio.Future[Any]:
            fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            fut.set_exception(StorageUnavailable("the database is unavailable"))
            return fut

        monkeypatch.setattr(committer, "enqueue", failing)
        r = h.client.post(V2, json=_v2("b"), headers=h.intake())
        assert r.status_code == 503
        assert r.headers["retry-after"]
        assert r.headers["content-type"] == "application/json"  # Alertmanager's error shape
        assert "unavailable" in r.json()
        r = h.client.post(AM, json=am_body(am_alert("X", job="checkout")), headers=h.intake())
        assert r.status_code == 503
        assert r.headers["content-type"] == "application/problem+json"

        def never(batch: IngestBatch) -> asyncio.Future[Any]:
            return asyncio.get_running_loop().create_future()

        monkeypatch.setattr(committer, "enqueue", never)
        r = h.client.post(V2, json=_v2("c"), headers=h.intake())
        assert r.status_code == 503
        assert r.headers["retry-after"] == "5"
        assert "retry later" in r.json()
