"""The rollout engine's decisions and the gate judge, table by table (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from opsbook.config.rollouts import Gate, Rollout
from opsbook.rollouts.engine import GateResult, State, decide, judge, render_query

T0 = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)


def plan(**kw: object) -> Rollout:
    base: dict[str, object] = {
        "name": "web", "service": "web", "prometheus": "http://127.0.0.1:9090",
        "steps": [{"weight": 5, "pause": "5m"}, {"weight": 25, "pause": "5m"}, {"weight": 100}],
        "gates": [{"name": "errors", "query": "q", "max": 0.01}],
        "actuator": {"haproxy": {"address": "127.0.0.1:9999", "backend": "app", "stable": "v1", "canary": "v2"}},
    }  # fmt: skip
    base.update(kw)
    return Rollout.model_validate(base)


GATE = Gate(name="errors", query="q", max=0.01)
KAYENTA = Gate(name="p95", query="q", baseline="b", max_increase=0.05)
RATIO = Gate(name="lat", query="q", baseline="b", max_ratio=1.2)


@pytest.mark.parametrize(
    ("gate", "value", "baseline", "verdict"),
    [
        (GATE, 0.0, None, "pass"),
        (GATE, 0.05, None, "fail"),
        (GATE, None, None, "inconclusive"),
        (GATE, float("nan"), None, "inconclusive"),  # 0/0 rate: no traffic yet
        (GATE.model_copy(update={"on_no_data": "fail"}), None, None, "fail"),
        (KAYENTA, 0.30, 0.28, "pass"),
        (KAYENTA, 0.40, 0.28, "fail"),
        (KAYENTA, 0.40, None, "inconclusive"),
        (RATIO, 1.1, 1.0, "pass"),
        (RATIO, 1.3, 1.0, "fail"),
        (RATIO, 0.1, 0.0, "fail"),  # anything over a zero baseline is worse
    ],
)
def test_judge(gate: Gate, value: float | None, baseline: float | None, verdict: str) -> None:
    assert judge(gate, value, baseline).verdict == verdict


def _ok(name: str = "errors") -> list[GateResult]:
    return [GateResult(name, 0.0, None, "pass", "ok")]


def _bad() -> list[GateResult]:
    return [GateResult("errors", 0.05, None, "fail", "0.05 > max 0.01")]


def test_a_step_applies_its_weight_then_holds_its_pause_then_advances() -> None:
    p = plan()
    start = decide(p, State("running", 0, 0, T0), [], T0)
    assert start.action == "advance" and start.state.weight == 5
    s = start.state
    assert decide(p, s, _ok(), T0 + timedelta(minutes=2)).action == "hold"
    nxt = decide(p, s, _ok(), T0 + timedelta(minutes=5))
    assert nxt.action == "advance" and nxt.state.weight == 25 and nxt.state.step == 1


def test_no_data_never_promotes_a_step() -> None:
    p = plan()
    s = State("running", 0, 5, T0)
    silent = [GateResult("errors", None, None, "inconclusive", "no data")]
    d = decide(p, s, silent, T0 + timedelta(hours=1))
    assert d.action == "hold" and "waiting for a passing value of errors" in d.reason


def test_failures_in_a_row_up_to_the_limit_roll_back_and_a_pass_resets() -> None:
    p = plan(failure_limit=2)
    s = State("running", 0, 5, T0)
    once = decide(p, s, _bad(), T0)
    assert once.action == "hold" and once.state.failures == 1
    reset = decide(p, once.state, _ok(), T0)
    assert reset.state.failures == 0
    twice = decide(p, decide(p, once.state, _bad(), T0).state, _bad(), T0)
    assert decide(p, once.state, _bad(), T0).action == "rollback"
    assert twice.action == "rollback"


def test_paused_holds_the_step_but_a_failing_gate_still_rolls_back() -> None:
    p = plan()
    s = State("paused", 0, 5, T0)
    assert decide(p, s, _ok(), T0 + timedelta(hours=1)).action == "hold"
    assert decide(p, s, _bad(), T0).action == "rollback"


def test_the_last_step_succeeds() -> None:
    p = plan()
    s = State("running", 2, 100, T0)
    d = decide(p, s, _ok(), T0)
    assert d.action == "succeed" and d.state.status == "succeeded"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"steps": [{"weight": 50}, {"weight": 5}, {"weight": 100}]}, "must not go down"),
        ({"steps": [{"weight": 5}, {"weight": 50}]}, "100 %"),
        ({"gates": [{"name": "g", "query": "q"}]}, "give max, min"),
        ({"gates": [{"name": "g", "query": "q", "baseline": "b"}]}, "needs max_increase"),
        ({"interval": "100ms"}, "at least 1s"),
        ({"actuator": {}}, "exactly one"),
        (
            {
                "actuator": {
                    "haproxy": {"address": "nope", "backend": "a", "stable": "x", "canary": "y"}
                }
            },
            "address",
        ),
    ],
)
def test_bad_plans_are_refused_with_the_field(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        plan(**change)


def test_queries_name_canary_stable_and_version() -> None:
    q = 'rate(x{server="{{canary}}"}[1m]) / rate(x{server="{{stable}}"}[1m]) # {{version}}'
    assert render_query(q, canary="v2", stable="v1", version="2.4.1") == (
        'rate(x{server="v2"}[1m]) / rate(x{server="v1"}[1m]) # 2.4.1'
    )
