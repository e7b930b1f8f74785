"""A viewer's catastrophic regex cannot stall a real ``opsbook serve``.

``(.*.*.*.*.*)*$`` against a label value ending in a newline takes Python's backtracking ``re``
longer than the age of the universe; on RE2 (linear time) the preview answers at once, and
intake and health checks keep answering while a viewer fires such previews in a loop.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator

import pytest

from tests.support.app import am_alert, am_body
from tests.support.server import OpsbookServer

HOSTILE = "(.*.*.*.*.*)*$"
TRAP = "a" * 40 + "\n"  # `.` stops at the newline, so a backtracking engine tries every split


@pytest.fixture(scope="module")
def srv() -> Iterator[OpsbookServer]:
    with OpsbookServer(env={"OPSBOOK_RUN_WORKER": "false"}) as server:
        yield server


def test_a_catastrophic_regex_preview_answers_within_100ms_while_intake_answers(
    srv: OpsbookServer,
) -> None:
    tokens = srv.create_tokens({
        "intake": {"tenant": "acme", "integration": "alertmanager"},
        "viewer": {"tenant": "acme", "role": "viewer"},
    })  # fmt: skip
    alerts = [am_alert(f"Backlog{i}", job="checkout", note=TRAP, queue=TRAP) for i in range(50)]
    seeded = srv.post("/api/v1/integrations/alertmanager", tokens["intake"], json=am_body(*alerts))
    assert seeded.status_code == 200, seeded.text
    params = [("matchers", f'note=~"{HOSTILE}"'), ("matchers", f'alertname=~"{HOSTILE}"')]

    stop = threading.Event()
    previews: list[float] = []
    failures: list[str] = []

    def hostile_viewer() -> None:
        with srv.client(tokens["viewer"], timeout=5.0) as c:
            for _ in range(40):  # bounded: at most 40 previews
                if stop.is_set():
                    return
                began = time.perf_counter()
                r = c.get("/api/v1/silences/preview", params=params)
                previews.append(time.perf_counter() - began)
                if r.status_code != 200:
                    failures.append(f"preview {r.status_code}: {r.text[:200]}")
                    return

    with srv.client(tokens["viewer"], timeout=5.0) as c:  # warm: token cached, pages loaded
        first = c.get("/api/v1/silences/preview", params=params)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["complete"] is True and body["scanned"] == 50
    assert body["alerts"] == []  # `.` never crosses the newline: nothing matches, nothing hangs

    viewer = threading.Thread(target=hostile_viewer, daemon=True)
    viewer.start()
    intake: list[float] = []
    try:
        with srv.client(tokens["intake"], timeout=5.0) as c:
            for i in range(20):  # bounded: 20 alerts while the previews run
                began = time.perf_counter()
                r = c.post(
                    "/api/v1/integrations/alertmanager",
                    json=am_body(am_alert(f"Live{i}", job="checkout", severity="critical")),
                )
                intake.append(time.perf_counter() - began)
                assert r.status_code == 200 and r.json()["outcomes"] == {"opened": 1}, r.text
                assert c.get("/healthz").status_code == 200
    finally:
        stop.set()
        viewer.join(timeout=30)
    assert not viewer.is_alive() and not failures, failures
    assert previews, "the viewer made no preview"
    median = statistics.median(previews)
    print(  # the figures, for -s runs
        f"{len(previews)} hostile previews: median {median * 1000:.1f} ms, max "
        f"{max(previews) * 1000:.1f} ms; {len(intake)} intake posts: max {max(intake) * 1000:.1f} ms"
    )
    assert median < 0.100, f"median preview {median * 1000:.0f} ms: {sorted(previews)}"
    assert max(previews) < 1.0, sorted(previews)  # never a stall, even on a busy machine
    assert max(intake) < 1.0, sorted(intake)
    assert srv.running
