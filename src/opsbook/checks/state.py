"""The check state machine: when a failing check fires, and when a firing one resolves.

Pure: ``advance(state, healthy, now, rule)`` returns the next state and the event to raise, if
any; time is passed in, so "failing for 2 minutes" is tested with an injected clock.

States::

    ok ──fail──► failing ──fail, failing ≥ for──► firing ──ok──► recovering
     ▲              │                               ▲  ▲             │  │
     └─────ok───────┘                               │  └────fail─────┘  │
     └────────────── ok × recover_after (resolve) ──┴───────────────────┘

Flap damping is hysteresis on both edges: a check fires only after failing *continuously* for
``for`` (one success resets the clock), and resolves only after ``recover_after`` consecutive
successes (a single lucky probe while the service is still sick does not resolve, and the alert
does not re-fire and re-page on every wobble). ``unknown`` is the state before the first run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

CheckStatus = Literal["unknown", "ok", "failing", "firing", "recovering"]
Event = Literal["fire", "resolve"]
FIRING_STATES: frozenset[str] = frozenset({"firing", "recovering"})


@dataclass(frozen=True)
class Rule:
    """The parts of a check's config the state machine needs."""

    for_: timedelta = timedelta(0)
    recover_after: int = 1


@dataclass(frozen=True)
class CheckState:
    """Where a check stands: its status, since when, and the counters that damp flapping."""

    status: CheckStatus = "unknown"
    since: datetime | None = None
    failing_since: datetime | None = None
    successes: int = 0
    failures: int = 0

    @property
    def firing(self) -> bool:
        return self.status in FIRING_STATES


def advance(
    state: CheckState, healthy: bool, now: datetime, rule: Rule
) -> tuple[CheckState, Event | None]:
    """The state after one probe result at ``now``, and ``fire``/``resolve`` when the alert
    must be raised or resolved."""
    if healthy:
        if state.status in FIRING_STATES:
            successes = state.successes + 1
            if successes >= rule.recover_after:
                return CheckState("ok", now, None, successes, 0), "resolve"
            return replace(state, status="recovering", successes=successes, failures=0), None
        if state.status == "ok":
            return replace(state, successes=state.successes + 1, failures=0), None
        return CheckState("ok", now, None, 1, 0), None
    # unhealthy
    failures = state.failures + 1
    if state.status in FIRING_STATES:
        return CheckState("firing", state.since, state.failing_since, 0, failures), None
    failing_since = state.failing_since if state.status == "failing" else now
    assert failing_since is not None
    if now - failing_since >= rule.for_:
        return CheckState("firing", now, failing_since, 0, failures), "fire"
    since = state.since if state.status == "failing" else now
    return CheckState("failing", since, failing_since, 0, failures), None
