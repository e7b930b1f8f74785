"""A five-field cron expression (``minute hour day-of-month month day-of-week``) and its fire times,
read and iterated by cronsim (the cron engine of healthchecks.io) instead of our own parser.

Supports ``*``, lists (``1,15``), ranges (``1-5``), steps (``*/15``, ``10-50/20``, ``5/10``), month
and weekday names (``JAN``, ``sun``), ``7`` for Sunday, and cronsim's ``L``, ``W`` and ``#``. As
in Vixie and Debian cron, when neither day field starts with ``*`` a day matches if *either*
does; otherwise both must. Exactly five fields: cronsim's optional seconds field is refused.

Fire times are wall-clock times in the window's time zone, converted to UTC with Debian cron's
DST rules (cronsim follows them):

- a wall time that does not exist (the spring-forward gap, e.g. 02:30 in Europe/Berlin on the last
  Sunday of March) fires once, at the first instant after the gap;
- a wall time that exists twice (the autumn fall-back hour) fires once, at its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")


class CronError(ValueError):
    """A cron expression that cannot be parsed; the message names the field."""


def _ints(values: object) -> frozenset[int]:
    """A cronsim field as plain numbers (``L``/``#`` items are kept by cronsim, not listed here)."""
    return frozenset(v for v in values if isinstance(v, int))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Cron:
    """A parsed expression; ``text`` keeps what was written, the sets are for display and tests."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday

    @classmethod
    def parse(cls, text: str) -> Cron:
        parts = text.split()
        if len(parts) != 5:
            raise CronError(
                f"cron {text!r} needs 5 fields (minute hour day-of-month month day-of-week), "
                f"got {len(parts)}"
            )
        try:
            sim = CronSim(text, datetime(2000, 1, 1, tzinfo=UTC))
        except CronSimError as exc:  # "Bad minute", "Bad day-of-week", …
            raise CronError(f"cron {text!r}: {str(exc).lower()}") from None
        weekdays = _ints(sim.weekdays)
        if 7 in weekdays:
            weekdays = (weekdays - {7}) | {0}
        return cls(
            text,
            _ints(sim.minutes),
            _ints(sim.hours),
            _ints(sim.days),
            _ints(sim.months),
            weekdays,
        )


def fire_times(cron: Cron, zone: ZoneInfo, start: datetime, end: datetime) -> Iterator[datetime]:
    """Every fire time in [start, end] (aware UTC), in order, each once."""
    # cronsim yields times strictly after the one it starts from
    sim = CronSim(cron.text, (start - timedelta(seconds=1)).astimezone(zone))
    last: datetime | None = None
    for local in sim:
        at = local.astimezone(UTC)
        if at > end:
            return
        if at != last and at >= start:
            last = at
            yield at
