"""Judge SLO gates and decide a rollout's next move. Pure: values and times in, a decision out.

Each interval every gate is judged ``pass``, ``fail`` or ``inconclusive`` (no data yet). A
failing evaluation counts toward ``failure_limit`` (a passing one resets the count); reaching it
rolls back. A step ends when its pause has passed and every gate has passed at least once during
it (so a step with no traffic never promotes on silence); the last step ends the rollout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from opsbook.config.rollouts import Gate, Rollout

Verdict = Literal["pass", "fail", "inconclusive"]
Status = Literal["running", "paused", "succeeded", "failed", "aborted"]
ACTIVE: tuple[str, ...] = ("running", "paused")


@dataclass(frozen=True)
class GateResult:
    """One gate's evaluation: its value (and the baseline's), the verdict and why."""

    gate: str
    value: float | None
    baseline: float | None
    verdict: Verdict
    reason: str


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def judge(gate: Gate, value: float | None, baseline: float | None = None) -> GateResult:
    """The verdict on ``value`` (NaN and ±Inf count as no data, as 0/0 rates give)."""
    v, b = _finite(value), _finite(baseline)
    if v is None or (gate.baseline is not None and b is None):
        verdict: Verdict = "fail" if gate.on_no_data == "fail" else "inconclusive"
        return GateResult(gate.name, v, b, verdict, "no data")
    problems: list[str] = []
    if gate.max is not None and v > gate.max:
        problems.append(f"{v:.6g} > max {gate.max:g}")
    if gate.min is not None and v < gate.min:
        problems.append(f"{v:.6g} < min {gate.min:g}")
    if b is not None and gate.max_increase is not None and v - b > gate.max_increase:
        problems.append(
            f"{v:.6g} is {v - b:.6g} above baseline {b:.6g} (margin {gate.max_increase:g})"
        )
    over = (
        gate.max_ratio is not None
        and b is not None
        and ((b == 0 and v > 0) or (b > 0 and v / b > gate.max_ratio))
    )
    if over:
        problems.append(f"{v:.6g} is over {gate.max_ratio:g}× baseline {b:.6g}")
    if problems:
        return GateResult(gate.name, v, b, "fail", "; ".join(problems))
    return GateResult(gate.name, v, b, "pass", f"{v:.6g} within bounds")


@dataclass(frozen=True)
class State:
    """Where a rollout is: status, step, weight, when the step began, failures in a row, and
    which gates have passed during this step."""

    status: Status
    step: int
    weight: int
    step_started_at: datetime
    failures: int = 0
    passed: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Decision:
    """What to do now: ``hold``, ``advance`` (to ``weight``), ``succeed`` or ``rollback``."""

    action: Literal["hold", "advance", "succeed", "rollback"]
    state: State
    reason: str


def decide(plan: Rollout, state: State, results: list[GateResult], now: datetime) -> Decision:
    """The next move after one evaluation of every gate."""
    failing = [r for r in results if r.verdict == "fail"]
    failures = (
        state.failures + 1
        if failing
        else 0
        if any(r.verdict == "pass" for r in results)
        else state.failures
    )
    passed = state.passed | {r.gate for r in results if r.verdict == "pass"}
    held = State(state.status, state.step, state.weight, state.step_started_at, failures, passed)
    if failing and failures >= plan.failure_limit:
        why = "; ".join(f"gate {r.gate}: {r.reason}" for r in failing)
        return Decision("rollback", held, why)
    if state.status != "running":
        return Decision("hold", held, "paused")
    step = plan.steps[state.step]
    if state.weight != step.weight:  # the step's weight is not applied yet (just started)
        return Decision(
            "advance",
            State("running", state.step, step.weight, now, failures, frozenset()),
            f"step {state.step + 1}: {step.weight} %",
        )
    if now - state.step_started_at < step.pause:
        return Decision("hold", held, "pausing")
    waiting = [g.name for g in plan.gates if g.name not in passed]
    if waiting:
        return Decision("hold", held, "waiting for a passing value of " + ", ".join(waiting))
    if state.step + 1 >= len(plan.steps):
        return Decision(
            "succeed",
            State("succeeded", state.step, 100, state.step_started_at, 0, passed),
            "every step passed",
        )
    nxt = state.step + 1
    weight = plan.steps[nxt].weight
    return Decision(
        "advance", State("running", nxt, weight, now, 0, frozenset()), f"step {nxt + 1}: {weight} %"
    )


def render_query(query: str, *, canary: str, stable: str, version: str) -> str:
    """Fill ``{{canary}}``, ``{{stable}}`` and ``{{version}}`` in a gate's PromQL."""
    return (
        query.replace("{{canary}}", canary)
        .replace("{{stable}}", stable)
        .replace("{{version}}", version)
    )
