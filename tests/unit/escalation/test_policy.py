"""``next_action`` over scripted timelines with an injected clock: nothing sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsbook.config.oncall import EscalationPolicy, Schedule
from opsbook.escalation.policy import (
    Done,
    NotifyLevel,
    Snapshot,
    State,
    Wait,
    acknowledge,
    apply,
    late_by,
    next_action,
    resolve,
)
from opsbook.escalation.targets import UnknownSchedule, resolve_targets

T0 = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)
M = timedelta(minutes=1)

POLICY = EscalationPolicy.model_validate(
    {
        "name": "platform",
        "tenant": "t",
        "steps": [
            {"notify": {"schedule": "platform-primary"}},
            {"after": "15m", "notify": {"users": ["lead"]}},
            {"after": "2m", "notify": {"schedule_all": "platform-primary"}},
        ],
        "repeat": 1,
    }
)


def snap(ack: timedelta, policy: EscalationPolicy = POLICY) -> Snapshot:
    return Snapshot.freeze(policy, severity="P0", ack_window=ack, started_at=T0)


def run(
    snapshot: Snapshot, ticks: list[timedelta], state: State | None = None
) -> list[tuple[object, ...]]:
    """Tick at each offset from T0; return what happened, applying actions as a worker would."""
    state = state or State()
    log: list[tuple[object, ...]] = []
    for offset in ticks:
        now = T0 + offset
        action = next_action(snapshot, state, now)
        state = apply(state, action, action.token)
        if isinstance(action, NotifyLevel):
            log.append(("notify", action.round, action.level, action.breached, action.due - T0))
        elif isinstance(action, Wait):
            log.append(("wait", action.until - T0))
        else:
            log.append(("done", action.reason))
    return log


def test_p0_not_acknowledged_in_5_minutes_moves_on_at_once() -> None:
    ticks = [0, 1, 5, 6, 7, 8, 12, 13, 17, 18, 23]
    log = run(snap(5 * M), [t * M for t in ticks])
    assert log == [
        ("notify", 0, 0, False, 0 * M),
        ("wait", 5 * M),  # level 1's own delay is 15m, the P0 window 5m: the window wins
        ("notify", 0, 1, True, 5 * M),  # and the breach is reported
        ("wait", 7 * M),  # level 2's 2m delay is shorter than the window
        ("notify", 0, 2, False, 7 * M),
        ("wait", 12 * M),  # the last level gets its window, then the repeat starts
        ("notify", 1, 0, True, 12 * M),
        ("wait", 17 * M),
        ("notify", 1, 1, True, 17 * M),
        ("wait", 19 * M),
        ("notify", 1, 2, False, 19 * M),  # the 23m tick was 4m late; due stays 19m
    ]
    assert run(snap(5 * M), [t * M for t in [*ticks, 29]])[-1] == ("done", "exhausted")


def test_scripted_timeline_exact() -> None:
    s = snap(5 * M)
    state = State()
    expected = [
        (0 * M, NotifyLevel, 0, 0),
        (4 * M, Wait, None, None),
        (5 * M, NotifyLevel, 0, 1),
        (7 * M, NotifyLevel, 0, 2),
        (11 * M, Wait, None, None),
        (12 * M, NotifyLevel, 1, 0),  # repeat round
        (17 * M, NotifyLevel, 1, 1),
        (19 * M, NotifyLevel, 1, 2),
        (23 * M, Wait, None, None),
        (24 * M, Done, None, None),
    ]
    for offset, kind, round_, level in expected:
        action = next_action(s, state, T0 + offset)
        assert isinstance(action, kind), (offset, action)
        if isinstance(action, NotifyLevel):
            assert (action.round, action.level) == (round_, level)
            assert action.late == timedelta(0)
        state = apply(state, action, action.token)
    assert isinstance(next_action(s, state, T0 + 24 * M), Done)


def test_level_delays_add_up_when_the_window_is_long() -> None:
    s = snap(timedelta(hours=1))
    state = apply(State(), a := next_action(s, State(), T0), a.token)
    wait = next_action(s, state, T0 + M)
    assert isinstance(wait, Wait) and wait.until == T0 + 15 * M
    fire = next_action(s, state, T0 + 15 * M)
    assert isinstance(fire, NotifyLevel) and fire.level == 1 and not fire.breached


@pytest.mark.parametrize(("stop", "reason"), [(acknowledge, "acknowledged"), (resolve, "resolved")])
def test_acknowledge_or_resolve_stops_it(stop, reason) -> None:  # type: ignore[no-untyped-def]
    s = snap(5 * M)
    first = next_action(s, State(), T0)
    state = apply(State(), first, first.token)
    scheduled = next_action(s, state, T0 + M)  # the worker schedules a tick for 5m
    assert isinstance(scheduled, Wait)
    state = stop(state)
    later = next_action(s, state, T0 + 5 * M)
    assert isinstance(later, Done) and later.reason == reason
    # the tick scheduled before the acknowledgement is stale: it changes nothing
    stale = NotifyLevel(
        level=1,
        round=0,
        targets=s.levels[1].targets,
        token=scheduled.token,
        at=T0 + 5 * M,
        due=T0 + 5 * M,
    )
    assert apply(state, stale, scheduled.token) == state


def test_duplicate_tick_fires_once() -> None:
    s = snap(5 * M)
    state = apply(State(), a := next_action(s, State(), T0), a.token)
    action = next_action(s, state, T0 + 5 * M)
    assert isinstance(action, NotifyLevel)
    after_first = apply(state, action, action.token)
    # a second worker computed the same action from the same old state and applies it late
    assert apply(after_first, action, action.token) == after_first
    # and, recomputing from the new state, level 1 is not fired again
    again = next_action(s, after_first, T0 + 5 * M)
    assert not (isinstance(again, NotifyLevel) and again.level == 1)


def test_token_mismatch_between_tick_and_action_is_ignored() -> None:
    s = snap(5 * M)
    action = next_action(s, State(), T0)
    assert apply(State(), action, action.token + 1) == State()
    assert apply(State(token=3), action, 4) == State(token=3)


def test_late_tick_says_how_late() -> None:
    s = snap(5 * M)
    state = apply(State(), a := next_action(s, State(), T0), a.token)
    # the process was down from 3 to 40 minutes
    action = next_action(s, state, T0 + 40 * M)
    assert isinstance(action, NotifyLevel) and action.level == 1
    assert action.late == 35 * M and action.breached
    state = apply(state, action, action.token)
    # the next level keeps its spacing from when level 1 actually fired
    nxt = next_action(s, state, T0 + 40 * M)
    assert isinstance(nxt, Wait) and nxt.until == T0 + 42 * M


@pytest.mark.parametrize(
    ("now", "due", "grace", "late"),
    [
        (T0, T0, timedelta(0), timedelta(0)),
        (T0 + M, T0, timedelta(0), M),
        (T0 - M, T0, timedelta(0), timedelta(0)),  # early is not late
        (T0 + 20 * timedelta(seconds=1), T0, timedelta(seconds=30), timedelta(0)),
    ],
)
def test_late_by(now: datetime, due: datetime, grace: timedelta, late: timedelta) -> None:
    assert late_by(now, due, grace) == late


def test_snapshot_is_frozen_and_round_trips() -> None:
    s = snap(5 * M)
    again = Snapshot.model_validate_json(s.model_dump_json())
    assert again == s
    with pytest.raises(ValueError):
        s.repeat = 5  # type: ignore[misc]
    state = State(level=1, last_fired_at=T0, token=2)
    assert State.model_validate_json(state.model_dump_json()) == state


def test_first_level_delay_and_no_repeat_exhausts() -> None:
    policy = EscalationPolicy.model_validate(
        {"name": "p", "tenant": "t", "steps": [{"after": "1m", "notify": {"users": ["a"]}}]}
    )
    s = snap(5 * M, policy)
    assert next_action(s, State(), T0) == Wait(until=T0 + M, token=1)
    state = apply(State(), a := next_action(s, State(), T0 + M), a.token)
    assert state.level == 1 and state.last_fired_at == T0 + M and state.token == 1
    assert next_action(s, state, T0 + 2 * M) == Wait(until=T0 + 6 * M, token=2)
    assert next_action(s, state, T0 + 6 * M) == Done(reason="exhausted", token=2)


def test_resolve_targets_at_fire_time() -> None:
    schedule = Schedule.model_validate(
        {
            "name": "platform-primary",
            "tenant": "t",
            "rotation": {
                "every": "1d",
                "handoff": "09:00",
                "participants": ["alice", "bob"],
                "start": "2025-06-01",
            },
        }
    )
    schedules = {"platform-primary": schedule}
    s = snap(5 * M)
    assert resolve_targets(s.levels[0].targets, schedules, T0) == ["bob"]  # 03:00, before handoff
    assert resolve_targets(s.levels[0].targets, schedules, T0 + timedelta(hours=6)) == ["alice"]
    assert resolve_targets(s.levels[2].targets, schedules, T0) == ["alice", "bob"]
    with pytest.raises(UnknownSchedule):
        resolve_targets(s.levels[0].targets, {}, T0)
