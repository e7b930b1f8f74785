"""The times a sender claims for an alert, judged against the time opsbook received it.

A sender's clock may be wrong, and a payload may say anything: ``startsAt`` in year 1 or 9999
once went straight into the incident's first-alert time and turned the mean MTTD negative. So:

- ``startsAt`` older than ``max_age`` before receipt, or later than ``max_skew`` after it, is
  replaced by the receipt time, and the alert carries a note saying so (the timeline shows it);
  one up to ``max_skew`` ahead (a sender's clock a little fast) is the receipt time, unnoted;
- ``endsAt`` beyond ``max_age`` after receipt (Alertmanager's and Prometheus's "9999" included)
  means "no end"; one older than ``max_age`` before receipt is the receipt time, noted;
- ``endsAt`` never precedes ``startsAt``.

Pure: no clock of its own; the caller passes the receipt time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from opsbook.intake.models import AlertIn


@dataclass(frozen=True, slots=True)
class TimeBounds:
    """How far from receipt a sender's times may lie (``alert_times:`` in opsbook.yaml)."""

    max_age: timedelta = timedelta(days=30)
    max_skew: timedelta = timedelta(minutes=5)


DEFAULT_BOUNDS = TimeBounds()


@dataclass(frozen=True, slots=True)
class Judged:
    """The times to store, and a note when one of them was replaced ("" when none was)."""

    starts_at: datetime | None
    ends_at: datetime | None
    note: str = ""


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def judge(
    starts_at: datetime | None,
    ends_at: datetime | None,
    received: datetime,
    bounds: TimeBounds = DEFAULT_BOUNDS,
) -> Judged:
    """The times to store for an alert received at ``received`` (all aware UTC)."""
    notes: list[str] = []
    earliest = received - bounds.max_age
    starts = starts_at
    if starts is not None and not earliest <= starts <= received + bounds.max_skew:
        notes.append(f"startsAt {_iso(starts)} was out of range; receipt time used")
        starts = received
    elif starts is not None and starts > received:  # the sender's clock is a little ahead
        starts = received
    ends = ends_at
    if ends is not None and ends > received + bounds.max_age:
        ends = None  # "no end": firing until a later message says otherwise
    elif ends is not None and ends < earliest:
        notes.append(f"endsAt {_iso(ends)} was out of range; receipt time used")
        ends = received
    if ends is not None and starts is not None and ends < starts:
        ends = starts
    return Judged(starts, ends, "; ".join(notes))


def clamp(alert: AlertIn, received: datetime, bounds: TimeBounds = DEFAULT_BOUNDS) -> AlertIn:
    """``alert`` with its times judged; its labels and annotations are left as sent."""
    j = judge(alert.starts_at, alert.ends_at, received, bounds)
    if (j.starts_at, j.ends_at, j.note) == (alert.starts_at, alert.ends_at, ""):
        return alert
    return replace(alert, starts_at=j.starts_at, ends_at=j.ends_at, time_note=j.note)
