"""Drill scorecard arithmetic: fold drill runs, one at a time, into counts and mean times per
drill, per service and per week, each figure beside its target. Pure: no storage, no clock.

Definitions (the scorecard's docstring in flows/drill_report.py repeats them):

- a run is *decided* when its status is passed or failed; aborted and unfinished runs are
  counted but give no times or rates;
- MTTD, time to open, MTTA, MTTR are the means of the ``seconds`` (from injection) of the
  ``alert_fired``, ``incident_opened``, ``acknowledged`` and ``resolved`` expectations of decided
  runs where they were met; each target is that expectation's ``limit_s`` in the newest run;
- paging success rate: of decided runs expecting ``paged``, the share where it was ok;
- runbook accuracy: of decided runs expecting ``runbook_matched``, the share where the incident
  opened on the expected runbook section (``runbook_matched`` ok) and, when the drill expects it,
  its read-only diagnostics succeeded (``diagnostics_ok`` ok); target 95 %;
- false-positive rate: of decided runs expecting ``alert_fired``, the share whose alert fired
  before the fault was injected (``seconds`` < 0) — the alert was already firing for some other
  reason, so the drill did not prove that the fault is detected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

ACCURACY_TARGET = 0.95
DECIDED = frozenset({"passed", "failed"})
TIMES = {
    "mttd": "alert_fired",
    "time_to_open": "incident_opened",
    "mtta": "acknowledged",
    "mttr": "resolved",
}


@dataclass(frozen=True)
class RunFacts:
    """What the scorecard needs of one run (a row of drill_runs, few columns)."""

    drill: str
    service: str
    status: str
    started_at: datetime
    expectations: tuple[Mapping[str, Any], ...]


@dataclass
class _Mean:
    total: float = 0.0
    count: int = 0
    target: float | None = None

    def add(self, seconds: float) -> None:
        self.total += seconds
        self.count += 1

    def value(self) -> float | None:
        return self.total / self.count if self.count else None


@dataclass
class _Share:
    yes: int = 0
    of: int = 0

    def add(self, ok: bool) -> None:
        self.of += 1
        self.yes += ok

    def value(self) -> float | None:
        return self.yes / self.of if self.of else None


@dataclass
class Tally:
    """Running counts for one group of runs (a drill, a service, a week)."""

    runs: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    times: dict[str, _Mean] = field(default_factory=lambda: {k: _Mean() for k in TIMES})
    paging: _Share = field(default_factory=_Share)
    accuracy: _Share = field(default_factory=_Share)
    false_positive: _Share = field(default_factory=_Share)
    last_run_at: datetime | None = None
    last_status: str | None = None

    def add(self, run: RunFacts) -> None:
        """Fold one run in; runs may come in any order (targets follow the newest run)."""
        self.runs += 1
        self.statuses[run.status] = self.statuses.get(run.status, 0) + 1
        newest = self.last_run_at is None or run.started_at >= self.last_run_at
        if newest:
            self.last_run_at, self.last_status = run.started_at, run.status
        by_name = {str(e.get("name")): e for e in run.expectations}
        for key, name in TIMES.items():
            e = by_name.get(name)
            if e is None:
                continue
            mean = self.times[key]
            if newest or mean.target is None:
                limit = e.get("limit_s")
                mean.target = float(limit) if isinstance(limit, int | float) else mean.target
        if run.status not in DECIDED:
            return
        for key, name in TIMES.items():
            seconds = _seconds(by_name.get(name))
            if seconds is not None:
                self.times[key].add(seconds)
        if "paged" in by_name:
            self.paging.add(by_name["paged"].get("ok") is True)
        if "runbook_matched" in by_name:
            diag = by_name.get("diagnostics_ok")
            self.accuracy.add(
                by_name["runbook_matched"].get("ok") is True
                and (diag is None or diag.get("ok") is True)
            )
        if "alert_fired" in by_name:
            fired = _seconds(by_name["alert_fired"])
            self.false_positive.add(fired is not None and fired < 0)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "runs": self.runs,
            "passed": self.statuses.get("passed", 0),
            "failed": self.statuses.get("failed", 0),
            "aborted": self.statuses.get("aborted", 0),
            "last_run_at": self.last_run_at.isoformat() if self.last_run_at else None,
            "last_status": self.last_status,
        }
        for key, mean in self.times.items():
            out[key] = {"seconds": mean.value(), "target_s": mean.target, "n": mean.count}
        out["paging_success"] = {"ratio": self.paging.value(), "n": self.paging.of}
        out["runbook_accuracy"] = {
            "ratio": self.accuracy.value(),
            "target": ACCURACY_TARGET,
            "n": self.accuracy.of,
        }
        out["false_positive"] = {"ratio": self.false_positive.value(), "n": self.false_positive.of}
        return out


def _seconds(e: Mapping[str, Any] | None) -> float | None:
    if e is None or e.get("met_at") is None:
        return None
    s = e.get("seconds")
    return float(s) if isinstance(s, int | float) and not isinstance(s, bool) else None


def week_of(at: datetime) -> datetime:
    """The Monday 00:00 (in ``at``'s zone) starting the week ``at`` falls in."""
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


@dataclass
class Board:
    """Tallies for all runs, per drill, per service and per week (per drill and overall)."""

    overall: Tally = field(default_factory=Tally)
    drills: dict[str, Tally] = field(default_factory=dict)
    services: dict[str, Tally] = field(default_factory=dict)
    weeks: dict[datetime, Tally] = field(default_factory=dict)

    def add(self, run: RunFacts) -> None:
        self.overall.add(run)
        self.drills.setdefault(run.drill, Tally()).add(run)
        self.services.setdefault(run.service, Tally()).add(run)
        self.weeks.setdefault(week_of(run.started_at), Tally()).add(run)


def fold(runs: Iterable[RunFacts]) -> Board:
    """One pass over ``runs`` (an iterator is fine: memory grows with groups, not runs)."""
    board = Board()
    for run in runs:
        board.add(run)
    return board
