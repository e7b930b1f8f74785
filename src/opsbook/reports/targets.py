"""Goals the report compares against; the defaults are the seed runbooks' own targets.

The seeds promise: MTTR < 15 min for P0, MTTD < 5 min, false positives < 5 %, runbook
accuracy > 95 %. A target with no data is neither met nor missed (``met`` is None): a month
without a P0 has not met the P0 MTTR goal, it has not been tested.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from opsbook.reports.compute import Figures

Metric = Literal["mttr", "mttd", "mtta", "false_positive_rate", "runbook_accuracy"]


@dataclass(frozen=True)
class Target:
    """``metric`` (the mean for times, in seconds) compared with ``op`` to ``value``, for one
    severity or for all incidents (``severity`` None)."""

    name: str
    metric: Metric
    op: Literal["<", ">"]
    value: float
    severity: str | None = None

    def describe(self) -> str:
        if self.metric in ("false_positive_rate", "runbook_accuracy"):
            return f"{self.op} {self.value * 100:g} %"
        return f"{self.op} {self.value / 60:g} min"


DEFAULT_TARGETS: tuple[Target, ...] = (
    Target("MTTR P0", "mttr", "<", 15 * 60, "P0"),
    Target("MTTD", "mttd", "<", 5 * 60),
    Target("False positives", "false_positive_rate", "<", 0.05),
    Target("Runbook accuracy", "runbook_accuracy", ">", 0.95),
)


@dataclass(frozen=True)
class TargetCheck:
    target: Target
    actual: float | None
    met: bool | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.target.name,
            "metric": self.target.metric,
            "severity": self.target.severity,
            "goal": self.target.describe(),
            "op": self.target.op,
            "value": self.target.value,
            "actual": self.actual,
            "met": self.met,
        }


def _actual(f: Figures, metric: Metric) -> float | None:
    if metric == "false_positive_rate":
        return f.false_positive_rate
    if metric == "runbook_accuracy":
        return f.runbook_accuracy
    stats = {"mttr": f.mttr, "mttd": f.mttd, "mtta": f.mtta}[metric]
    return stats.mean


def check_targets(
    overall: Figures, by_severity: Mapping[str, Figures], targets: Sequence[Target]
) -> list[TargetCheck]:
    """Each target with the actual figure and whether it is met (None: no data)."""
    out = []
    for t in targets:
        scope = by_severity.get(t.severity) if t.severity else overall
        actual = _actual(scope, t.metric) if scope is not None else None
        met = None if actual is None else (actual < t.value if t.op == "<" else actual > t.value)
        out.append(TargetCheck(t, actual, met))
    return out
