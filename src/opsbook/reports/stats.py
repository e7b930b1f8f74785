"""Mean, median and p90 of durations, the way the report states them (seconds)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class TimeStats:
    """Summary of a set of durations in seconds; the figures are None when there is none.

    The median averages the two middle values of an even count; p90 is the nearest-rank
    value (the ⌈0.9·n⌉-th smallest), so it is always a duration that really happened.
    """

    count: int
    mean: float | None
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, durations: Iterable[timedelta]) -> TimeStats:
        xs = sorted(d.total_seconds() for d in durations)
        if not xs:
            return cls(0, None, None, None)
        rank = max(1, math.ceil(0.9 * len(xs)))
        return cls(len(xs), statistics.fmean(xs), float(statistics.median(xs)), xs[rank - 1])

    def to_dict(self) -> dict[str, float | int | None]:
        return {"count": self.count, "mean": self.mean, "median": self.median, "p90": self.p90}


def ratio(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide (no data is not 0 %)."""
    return part / whole if whole else None
