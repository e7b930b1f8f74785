"""A five-field cron expression (``minute hour day-of-month month day-of-week``) and its fire times.

Supports ``*``, lists (``1,15``), ranges (``1-5``), steps (``*/15``, ``10-50/20``, ``5/10``), month
and weekday names (``JAN``, ``sun``), and ``7`` for Sunday. As in Vixie cron, when both day fields
are restricted a day matches if *either* does; otherwise both must.

Fire times are wall-clock times in the window's time zone, converted to UTC with these DST rules
(the ones Vixie cron and systemd timers follow):

- a wall time that does not exist (the spring-forward gap, e.g. 02:30 in Europe/Berlin on the last
  Sunday of March) fires once, at the first instant after the gap;
- a wall time that exists twice (the autumn fall-back hour) fires once, at its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NAMES = {
    3: {m: i + 1 for i, m in enumerate(_MONTHS)},
    4: {d: i for i, d in enumerate(_WEEKDAYS)},
}
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")


class CronError(ValueError):
    """A cron expression that cannot be parsed; the message names the field."""


def _number(text: str, index: int) -> int:
    names = _NAMES.get(index, {})
    if text.lower() in names:
        return names[text.lower()]
    if not text.isdigit():
        raise CronError(f"{_FIELDS[index]}: {text!r} is not a number")
    return int(text)


def _field(text: str, index: int) -> frozenset[int]:
    lo, hi = _BOUNDS[index]
    out: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(f"{_FIELDS[index]}: empty list item in {text!r}")
        base, _, step_text = part.partition("/")
        step = _number(step_text, -1) if step_text else 1
        if step < 1:
            raise CronError(f"{_FIELDS[index]}: step must be at least 1 in {part!r}")
        if base == "*":
            start, end = lo, hi
        elif "-" in base:
            a, _, b = base.partition("-")
            start, end = _number(a, index), _number(b, index)
        else:
            start = _number(base, index)
            end = hi if step_text else start
        if not (lo <= start <= hi and lo <= end <= hi) or start > end:
            raise CronError(f"{_FIELDS[index]}: {part!r} is outside {lo}-{hi}")
        out.update(range(start, end + 1, step))
    if index == 4 and 7 in out:
        out = (out - {7}) | {0}
    return frozenset(out)


@dataclass(frozen=True)
class Cron:
    """A parsed expression; ``text`` keeps what was written."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool

    @classmethod
    def parse(cls, text: str) -> Cron:
        parts = text.split()
        if len(parts) != 5:
            raise CronError(
                f"cron {text!r} needs 5 fields (minute hour day-of-month month day-of-week), "
                f"got {len(parts)}"
            )
        minute, hour, dom, month, dow = (_field(p, i) for i, p in enumerate(parts))
        return cls(
            text,
            minute,
            hour,
            dom,
            month,
            dow,
            days_restricted=parts[2] != "*",
            weekdays_restricted=parts[4] != "*",
        )

    def day_matches(self, d: date) -> bool:
        """Vixie cron's rule: both day fields restricted → either may match; else both must."""
        if d.month not in self.months:
            return False
        dom = d.day in self.days
        dow = (d.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return dom or dow
        return dom and dow

    def local_times(self, d: date) -> list[time]:
        """The wall-clock times this expression fires on day ``d`` (empty if the day is off)."""
        if not self.day_matches(d):
            return []
        return [time(h, m) for h in sorted(self.hours) for m in sorted(self.minutes)]


def to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """A naive wall time in ``zone`` as aware UTC: gap → first instant after it; repeat → first."""
    early = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if early.astimezone(zone).replace(tzinfo=None) == wall:
        return early  # exists (fold=0 is the first of a repeated hour)
    # in a spring-forward gap: the two readings bracket the transition; find its first minute
    late = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = min(early, late), max(early, late)
    before = lo.astimezone(zone).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    # transitions fall on whole seconds: round the bracket up to the next one
    return hi if hi.microsecond == 0 else hi.replace(microsecond=0) + timedelta(seconds=1)


def fire_times(cron: Cron, zone: ZoneInfo, start: datetime, end: datetime) -> Iterator[datetime]:
    """Every fire time in [start, end] (aware UTC), in order, each once."""
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    seen: set[datetime] = set()
    while day <= last:
        for t in cron.local_times(day):
            at = to_utc(datetime.combine(day, t), zone)
            if start <= at <= end and at not in seen:
                seen.add(at)
                yield at
        day += timedelta(days=1)
