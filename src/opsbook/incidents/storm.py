"""Alert storms: when one service opens too many incidents at once, new alerts join one incident.

A service is *storming* while more than ``threshold`` new alert groups (alerts that would open an
incident) arrived for it within ``window``. Counting uses a sliding window of eleven slots, so the
state of one service is a dozen numbers — O(1) to read and write, whatever the size of the storm.

A P0 never joins a storm: it opens (or joins) its own incident and pages on its own at once.
Pure: no storage, no clock; ``now`` is passed in.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from opsbook.incidents.models import Severity

SLOTS = 10  # the window is counted in ten slots: a storm ends at most a tenth of it late


@dataclass
class StormCounter:
    """New alert groups of one service, per slot of a tenth of the window, oldest first.

    ``slot_start`` is where the newest slot begins; ``slots`` holds SLOTS + 1 counts so that the
    window, which starts inside the oldest slot, is fully covered. ``active`` says whether the
    service was storming at the last decision (so the start and end can be put on the timeline).
    """

    slot_start: datetime
    slots: list[int] = field(default_factory=lambda: [0] * (SLOTS + 1))
    active: bool = False

    def _roll(self, now: datetime, window: timedelta) -> float:
        """Move the slots up to ``now``; returns how far into the newest slot ``now`` is (0–1)."""
        width = window / SLOTS
        if len(self.slots) != SLOTS + 1:
            self.slots = ([0] * (SLOTS + 1) + list(self.slots))[-(SLOTS + 1) :]
        if now < self.slot_start:  # the clock went back: count into the newest slot
            return 0.0
        steps = int((now - self.slot_start) / width)
        if steps > SLOTS:
            self.slots = [0] * (SLOTS + 1)
        elif steps:
            self.slots = self.slots[steps:] + [0] * steps
        self.slot_start += steps * width
        return min(1.0, (now - self.slot_start) / width)

    def rate(self, now: datetime, window: timedelta) -> float:
        """New groups in the ``window`` before ``now`` (the oldest slot weighted by its overlap)."""
        into = self._roll(now, window)
        return sum(self.slots[1:]) + self.slots[0] * (1.0 - into)

    def record(self, now: datetime, window: timedelta, n: int = 1) -> None:
        """Count ``n`` new alert groups at ``now``."""
        self._roll(now, window)
        self.slots[-1] += n


def storming(counter: StormCounter, threshold: int, window: timedelta, now: datetime) -> bool:
    """Whether a new alert group arriving at ``now`` joins the storm (``threshold`` already seen)."""
    return counter.rate(now, window) >= threshold


def may_join(severity: Severity) -> bool:
    """A P0 is never swallowed by a storm: the page that matters goes out on its own."""
    return severity is not Severity.P0


def storm_severity(members: list[Severity] | tuple[Severity, ...]) -> Severity:
    """The most severe member, below P0 (P0 alerts never join; this keeps it so)."""
    best = min((s.rank for s in members), default=Severity.P3.rank)
    return Severity(f"P{max(best, Severity.P1.rank)}")


def storm_key(service: str) -> str:
    """The group key of the one open storm incident of ``service`` (never an alert group's)."""
    return hashlib.sha256(f"storm\x00{service}".encode()).hexdigest()[:40]


def storm_title(service: str, alerts: int, alertnames: int) -> str:
    """E.g. "Alert storm on checkout-api: 1,234 alerts across 312 alertnames"."""
    a = "alert" if alerts == 1 else "alerts"
    n = "alertname" if alertnames == 1 else "alertnames"
    return f"Alert storm on {service}: {alerts:,} {a} across {alertnames:,} {n}"


def batch_summary(names: Counter[str], shown: int = 8) -> str:
    """The alertnames of one batch that joined a storm, most frequent first: "A ×3, B, … (+9)"."""
    top = names.most_common(shown)
    parts = [f"{name} ×{n}" if n > 1 else name for name, n in top]
    rest = len(names) - len(top)
    return ", ".join(parts) + (f", … (+{rest} more alertnames)" if rest else "")
