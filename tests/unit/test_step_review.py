"""What an approver is shown for a run request, and the hash that binds an approval to it."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from opsbook.executors.models import ExecContext
from opsbook.flows.step_review import Review, review
from opsbook.runbooks.classify import classify
from opsbook.runbooks.models import Step
from opsbook.runbooks.variables import find_variables


def _step(text: str) -> Step:
    c = classify(text)
    return Step(
        line=1,
        title="Delete the stuck pod",
        text=text,
        executable=c.executable,
        kind=c.kind,
        inner_kind=c.inner_kind,
        safety=c.safety,
        reason=c.reason,
        variables=tuple(find_variables(text)),
    )


DELETE = _step("kubectl delete pod $POD")


def _of(pod: str, run_id: str = "run_a") -> Review:
    return review(DELETE, 2, run_id, ExecContext(variables={"POD": pod}), set())


def test_the_review_shows_argv_values_and_their_source() -> None:
    r = _of("harmless-1")
    assert r.argv == [["kubectl", "delete", "pod", "harmless-1"]]
    assert [(v.name, v.value, v.source, v.used) for v in r.variables] == [
        ("POD", "harmless-1", "request", True)
    ]
    assert r.safety == "destructive" and r.command == "kubectl delete pod harmless-1"


@pytest.mark.parametrize(
    ("other", "why"),
    [
        (_of("--all"), "another value"),
        (_of("harmless-1", run_id="run_b"), "another request, even with the same values"),
    ],
)
def test_a_different_request_never_has_the_same_hash(other: Review, why: str) -> None:
    assert other.shown_hash != _of("harmless-1").shown_hash, why


def test_the_hash_is_stable_and_survives_storage() -> None:
    r = _of("harmless-1")
    assert r.shown_hash == _of("harmless-1").shown_hash
    stored = r.to_dict()
    assert Review.from_dict(stored) == r and stored["shown_hash"] == r.shown_hash


def test_secrets_are_masked_and_service_values_named() -> None:
    step = _step("redis-cli -u redis://:$CACHE_PASSWORD@$CACHE_HOST PING")
    ctx = ExecContext(
        variables={"CACHE_HOST": "cache.internal:6379"},
        secrets={"CACHE_PASSWORD": SecretStr("hunter2-canary")},
    )
    r = review(step, 1, "run_c", ctx, {"CACHE_HOST"})
    assert "hunter2-canary" not in r.canonical()
    assert {v.name: v.source for v in r.variables} == {
        "CACHE_PASSWORD": "secret",
        "CACHE_HOST": "service",
    }
    assert r.target == "redis://cache.internal:6379"  # where, never the password
