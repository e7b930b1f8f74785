"""The check state machine with an injected clock: fire only after failing for `for`, resolve
only after `recover_after` consecutive successes, never re-fire while flapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsbook.checks.state import CheckState, Rule, advance

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def run(results: str, rule: Rule, step: float = 1.0) -> list[tuple[str, str | None]]:
    """Feed 'o' (healthy) / 'x' (failing) results one second apart; (status, event) each."""
    state = CheckState()
    out: list[tuple[str, str | None]] = []
    for i, c in enumerate(results):
        state, event = advance(state, c == "o", T0 + timedelta(seconds=i * step), rule)
        out.append((state.status, event))
    return out


def events(results: str, rule: Rule) -> str:
    return "".join({"fire": "F", "resolve": "R", None: "."}[e] for _, e in run(results, rule))


@pytest.mark.parametrize(
    ("results", "rule", "expected"),
    [
        # for=2s: failing at t=1, still failing at t=3 → fires on the third failure
        ("oxxxx", Rule(timedelta(seconds=2), 1), "...F."),
        # one success inside the `for` resets the clock
        ("oxxoxxx", Rule(timedelta(seconds=2), 1), "......F"),
        # for=0 fires on the first failure
        ("ox", Rule(timedelta(0), 1), ".F"),
        # recover_after=2: one success is not enough; a failure in between keeps it firing
        ("xxoxoo", Rule(timedelta(0), 2), "F....R"),
        # flapping after firing does not fire again
        ("xoxoxox", Rule(timedelta(0), 2), "F......"),
        # healthy all along: nothing
        ("oooo", Rule(timedelta(seconds=2), 2), "...."),
    ],
)
def test_events(results: str, rule: Rule, expected: str) -> None:
    assert events(results, rule) == expected


def test_statuses_walk_the_documented_states() -> None:
    statuses = [s for s, _ in run("oxxxoxoo", Rule(timedelta(seconds=2), 2))]
    assert statuses == [
        "ok", "failing", "failing", "firing", "recovering", "firing", "recovering", "ok"
    ]  # fmt: skip


def test_firing_since_is_kept_and_failures_counted() -> None:
    state, _ = advance(CheckState(), False, T0, Rule(timedelta(0), 1))
    state, _ = advance(state, False, T0 + timedelta(seconds=5), Rule(timedelta(0), 1))
    assert state.status == "firing" and state.since == T0 and state.failures == 2
