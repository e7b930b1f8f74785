"""The incident state machine: triggered → acknowledged → resolved → closed.

Closing straight from an open state is allowed (a false positive needs no "resolve" first).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from opsbook.core.errors import Conflict, InputError
from opsbook.incidents.models import CLOSE_REASONS, Action, Status

_NEXT: dict[tuple[Status, Action], Status] = {
    (Status.TRIGGERED, Action.ACKNOWLEDGE): Status.ACKNOWLEDGED,
    (Status.TRIGGERED, Action.RESOLVE): Status.RESOLVED,
    (Status.ACKNOWLEDGED, Action.RESOLVE): Status.RESOLVED,
    (Status.TRIGGERED, Action.CLOSE): Status.CLOSED,
    (Status.ACKNOWLEDGED, Action.CLOSE): Status.CLOSED,
    (Status.RESOLVED, Action.CLOSE): Status.CLOSED,
}


def next_status(current: Status, action: Action) -> Status:
    """The state after ``action``, or Conflict saying why it is not allowed now."""
    try:
        return _NEXT[(current, action)]
    except KeyError:
        raise Conflict(f"cannot {action.value} an incident that is {current.value}") from None


def check_close_reason(reason: str) -> str:
    """Close reasons come from a fixed list so reports can count false positives."""
    if reason not in CLOSE_REASONS:
        raise InputError(
            f"unknown close reason {reason!r}; expected one of: {', '.join(CLOSE_REASONS)}",
            field="reason",
        )
    return reason


def ack_deadline(triggered_at: datetime, window: timedelta) -> datetime:
    return triggered_at + window


def ack_met(deadline: datetime, acknowledged_at: datetime | None, now: datetime) -> bool | None:
    """True/False once decided; None while still open and before the deadline."""
    if acknowledged_at is not None:
        return acknowledged_at <= deadline
    return False if now > deadline else None
