"""Escalation as a pure function: ``next_action(snapshot, state, now)``.

When paging starts, the policy and the severity's acknowledgement window are frozen into a
:class:`Snapshot` stored on the incident, so editing the config never changes an escalation in
flight (Grafana OnCall's escalation snapshot). :class:`State` is the little that changes.

The rules, in order:

1. Resolved or acknowledged → ``Done``. Nothing fires after that.
2. The first level fires ``after`` its delay from paging start (usually at once).
3. Each later level fires ``after`` its delay from when the previous level *fired* — so on time
   the delays add up from paging start, as in PagerDuty — **or** as soon as the severity's
   acknowledgement window has passed since the previous level fired, whichever is first. Moving
   on because the window passed is a *breach* and the action says so (``breached=True``).
4. After the last level, its window runs out, then the whole policy starts again at level 0,
   ``repeat`` more times; then ``Done("exhausted")``.

Fencing: every action carries ``token = state.token + 1``. The worker schedules its next tick
with that token and, when it runs, calls :func:`apply` with it; :func:`apply` ignores any action
whose token is not exactly ``state.token + 1``, so a stale tick (the state moved on: a level fired,
someone acknowledged) or a duplicate (two workers ran the same tick) changes nothing. Store the
new state with a compare-and-set on the old token before sending anything.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from opsbook.config.oncall import EscalationPolicy, Target


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
    return value.astimezone(UTC)


class SnapshotLevel(_Frozen):
    """One level as frozen: its delay and whom to notify (schedules resolved when it fires)."""

    after: timedelta
    targets: Target


class Snapshot(_Frozen):
    """The policy as it was when paging started; JSON-serialisable with ``model_dump_json``."""

    policy: str
    severity: str
    started_at: datetime
    ack_window: timedelta = Field(gt=timedelta(0))
    levels: tuple[SnapshotLevel, ...]
    repeat: int = Field(default=0, ge=0)

    @field_validator("started_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return _utc(value)

    @classmethod
    def freeze(
        cls,
        policy: EscalationPolicy,
        *,
        severity: str,
        ack_window: timedelta,
        started_at: datetime,
    ) -> Snapshot:
        """Freeze ``policy`` for an incident of ``severity`` paged at ``started_at``."""
        return cls(
            policy=policy.name,
            severity=str(severity),
            started_at=started_at,
            ack_window=ack_window,
            levels=tuple(SnapshotLevel(after=s.after, targets=s.notify) for s in policy.steps),
            repeat=policy.repeat,
        )


class State(_Frozen):
    """Where an escalation is: the next level to fire, in which round, and the fencing token."""

    level: int = Field(default=0, ge=0, description="index of the next level to fire")
    round: int = Field(default=0, ge=0, description="0 for the first pass, 1.. for repeats")
    last_fired_at: datetime | None = None
    token: int = Field(default=0, ge=0)
    acknowledged: bool = False
    resolved: bool = False


class NotifyLevel(_Frozen):
    """Notify ``targets`` of level ``level`` now. ``breached``: moved on because the ack window
    passed; ``late``: how long after it was due this tick ran (the process was down, say)."""

    kind: Literal["notify"] = "notify"
    level: int
    round: int
    targets: Target
    token: int
    at: datetime
    due: datetime
    breached: bool = False
    late: timedelta = timedelta(0)


class Wait(_Frozen):
    """Nothing to do until ``until``; schedule the next tick then, carrying ``token``."""

    kind: Literal["wait"] = "wait"
    until: datetime
    token: int


class Done(_Frozen):
    """The escalation is over: ``acknowledged``, ``resolved``, ``exhausted`` or ``empty``."""

    kind: Literal["done"] = "done"
    reason: Literal["acknowledged", "resolved", "exhausted", "empty"]
    token: int


Action = NotifyLevel | Wait | Done


def late_by(now: datetime, due: datetime, grace: timedelta = timedelta(0)) -> timedelta:
    """How late a tick that should have run at ``due`` is at ``now``; zero within ``grace``."""
    late = _utc(now) - _utc(due)
    return late if late > grace else timedelta(0)


def _next_position(snapshot: Snapshot, state: State) -> tuple[int, int] | None:
    """(round, level) of the next level to fire, or None when every round has run."""
    if state.level < len(snapshot.levels):
        return state.round, state.level
    if state.round < snapshot.repeat:
        return state.round + 1, 0
    return None


def next_action(snapshot: Snapshot, state: State, now: datetime) -> Action:
    """What to do at ``now``; pure: the same inputs always give the same action."""
    now = _utc(now)
    token = state.token + 1
    if state.resolved:
        return Done(reason="resolved", token=token)
    if state.acknowledged:
        return Done(reason="acknowledged", token=token)
    if not snapshot.levels:
        return Done(reason="empty", token=token)
    position = _next_position(snapshot, state)
    last = state.last_fired_at
    if position is None:
        window_end = (last or snapshot.started_at) + snapshot.ack_window
        if now < window_end:
            return Wait(until=window_end, token=token)
        return Done(reason="exhausted", token=token)
    round_, level = position
    breached = False
    if last is None:
        due = snapshot.started_at + snapshot.levels[level].after
    else:
        by_window = last + snapshot.ack_window
        by_delay = last + (
            snapshot.levels[level].after if round_ == state.round else snapshot.ack_window
        )
        due = min(by_window, by_delay)
        breached = by_window <= by_delay
    if now < due:
        return Wait(until=due, token=token)
    return NotifyLevel(
        level=level,
        round=round_,
        targets=snapshot.levels[level].targets,
        token=token,
        at=now,
        due=due,
        breached=breached,
        late=late_by(now, due),
    )


def is_current(state: State, token: int) -> bool:
    """Whether a tick carrying ``token`` may still act on ``state``."""
    return token == state.token + 1


def apply(state: State, action: Action, token: int) -> State:
    """The state after ``action``, or ``state`` unchanged when the tick is stale or duplicated.

    Only ``NotifyLevel`` moves the escalation (and takes the token); ``Wait`` and ``Done``
    leave it as it is, so the tick scheduled for ``Wait.until`` still carries a valid token.
    """
    if not is_current(state, token) or action.token != token:
        return state
    if isinstance(action, NotifyLevel):
        return state.model_copy(
            update={
                "level": action.level + 1,
                "round": action.round,
                "last_fired_at": action.at,
                "token": token,
            }
        )
    return state


def acknowledge(state: State) -> State:
    """Stop the escalation; bumps the token so already scheduled ticks become stale."""
    return state.model_copy(update={"acknowledged": True, "token": state.token + 1})


def resolve(state: State) -> State:
    """Stop the escalation for good; bumps the token like :func:`acknowledge`."""
    return state.model_copy(update={"resolved": True, "token": state.token + 1})
