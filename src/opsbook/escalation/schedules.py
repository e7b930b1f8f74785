"""Who is on call: rotations, layers, restrictions and overrides, as pure functions of time.

Turns are counted in *local calendar days* in the schedule's time zone, so a handoff written
``Mon 09:00`` in ``Europe/Berlin`` happens at 09:00 Berlin time on both sides of a DST change
(the week it spans is 167 or 169 hours long). A handoff that falls in a DST gap (02:30 on the
spring-forward night) happens at the first valid instant after it, as ``zoneinfo`` resolves it.

Layers: a later layer in the list wins wherever it has someone (an empty restriction window lets
the layers below show through). Overrides win over everything: ``Override(user="bob",
replaces="alice")`` covers only alice's time within its window; ``replaces=None`` covers all of
it. When overrides overlap, the later one in the list (the more recent) wins; ``replaces`` is
compared with the schedule's own person, not with another override.

Every function takes the instant(s) to ask about; nothing here reads the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from opsbook.config.oncall import WEEKDAYS, Layer, Restriction, Rotation, Schedule

DEFAULT_ANCHOR = date(2024, 1, 1)
"""A Monday: where the turn order starts when a rotation gives no ``start``."""

OVERRIDE_LAYER = "override"


@dataclass(frozen=True, slots=True)
class Override:
    """``user`` covers ``schedule`` from ``start`` to ``end`` (only ``replaces``'s time if set)."""

    schedule: str
    user: str
    start: datetime
    end: datetime
    replaces: str | None = None

    def __post_init__(self) -> None:
        _aware(self.start, "override start")
        _aware(self.end, "override end")
        if self.end <= self.start:
            raise ValueError("an override must end after it starts")


@dataclass(frozen=True, slots=True)
class Shift:
    """One stretch of the final timeline: ``user`` is on call in ``[start, end)`` via ``layer``."""

    user: str
    start: datetime
    end: datetime
    layer: str


def _aware(dt: datetime, what: str) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (got naive {dt.isoformat()})")
    return dt.astimezone(UTC)


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall time ``at`` on ``day`` in ``zone`` (gap times move forward)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _anchor(rotation: Rotation) -> date:
    day = rotation.start or DEFAULT_ANCHOR
    weekday = rotation.handoff_weekday
    if weekday is not None:
        day += timedelta(days=(weekday - day.weekday()) % 7)
    return day


def handoff(rotation: Rotation, zone: ZoneInfo, turn: int) -> datetime:
    """The UTC instant turn number ``turn`` begins (turn 0 is ``participants[0]``'s first)."""
    return _instant(
        _anchor(rotation) + timedelta(days=turn * rotation.turn_days), rotation.handoff_time, zone
    )


def turn_at(rotation: Rotation, zone: ZoneInfo, at: datetime) -> int:
    """The number of the turn running at ``at`` (negative before the anchor)."""
    at = _aware(at, "at")
    local_day = at.astimezone(zone).date()
    turn = (local_day - _anchor(rotation)).days // rotation.turn_days
    while handoff(rotation, zone, turn) > at:
        turn -= 1
    while handoff(rotation, zone, turn + 1) <= at:
        turn += 1
    return turn


def _windows(
    restriction: Restriction, day: date, zone: ZoneInfo
) -> tuple[datetime, datetime] | None:
    """The UTC window ``restriction`` opens on local ``day``, if it opens that day."""
    if WEEKDAYS[day.weekday()] not in restriction.days:
        return None
    start, days_later, end = restriction.span()
    return _instant(day, start, zone), _instant(day + timedelta(days=days_later), end, zone)


def layer_active(layer: Layer, zone: ZoneInfo, at: datetime) -> bool:
    """Whether ``at`` is inside one of the layer's restriction windows (always, without any)."""
    if not layer.restrictions:
        return True
    at = _aware(at, "at")
    today = at.astimezone(zone).date()
    for restriction in layer.restrictions:
        for day in (today - timedelta(days=1), today):
            window = _windows(restriction, day, zone)
            if window and window[0] <= at < window[1]:
                return True
    return False


def layer_user(layer: Layer, zone: ZoneInfo, at: datetime) -> str | None:
    """The person a single layer puts on call at ``at``, or None outside its windows."""
    if not layer_active(layer, zone, at):
        return None
    rotation = layer.rotation
    return rotation.participants[turn_at(rotation, zone, at) % len(rotation.participants)]


def _scheduled(schedule: Schedule, at: datetime) -> tuple[str, str] | None:
    """(user, layer name) from the layers alone: the last layer with someone wins."""
    zone = schedule.zone
    for layer in reversed(schedule.layers):
        user = layer_user(layer, zone, at)
        if user is not None:
            return user, layer.name
    return None


def _final(
    schedule: Schedule, at: datetime, overrides: Sequence[Override]
) -> tuple[str, str] | None:
    base = _scheduled(schedule, at)
    result = base
    for ov in overrides:
        if ov.schedule != schedule.name or not (ov.start <= at < ov.end):
            continue
        if ov.replaces is None or (base is not None and base[0] == ov.replaces):
            result = (ov.user, OVERRIDE_LAYER)
    return result


def oncall_at(schedule: Schedule, at: datetime, overrides: Sequence[Override] = ()) -> list[str]:
    """Who is on call on ``schedule`` at ``at``: ``[]`` when nobody, else one name.

    A list so that "nobody" needs no sentinel and callers can merge targets uniformly.
    """
    found = _final(schedule, _aware(at, "at"), overrides)
    return [found[0]] if found else []


def _boundaries(
    schedule: Schedule, start: datetime, end: datetime, overrides: Sequence[Override]
) -> list[datetime]:
    """Every instant in ``(start, end)`` at which the answer of ``oncall_at`` may change."""
    zone = schedule.zone
    points: set[datetime] = set()
    first_day = start.astimezone(zone).date() - timedelta(days=1)
    last_day = end.astimezone(zone).date() + timedelta(days=1)
    for layer in schedule.layers:
        turn = turn_at(layer.rotation, zone, start) + 1
        while (moment := handoff(layer.rotation, zone, turn)) < end:
            points.add(moment)
            turn += 1
        for restriction in layer.restrictions:
            day = first_day
            while day <= last_day:
                window = _windows(restriction, day, zone)
                if window:
                    points.update(window)
                day += timedelta(days=1)
    for ov in overrides:
        if ov.schedule == schedule.name:
            points.update((ov.start.astimezone(UTC), ov.end.astimezone(UTC)))
    return sorted(p for p in points if start < p < end)


def shifts(
    schedule: Schedule, start: datetime, end: datetime, overrides: Sequence[Override] = ()
) -> list[Shift]:
    """The final timeline within ``[start, end)``: adjacent equal stretches merged, gaps left out.

    The first and last shift are clipped to the range asked for.
    """
    start, end = _aware(start, "start"), _aware(end, "end")
    if end <= start:
        return []
    cuts = [start, *_boundaries(schedule, start, end, overrides), end]
    out: list[Shift] = []
    for lo, hi in pairwise(cuts):
        found = _final(schedule, lo, overrides)
        if found is None:
            continue
        user, layer = found
        if out and out[-1].end == lo and (out[-1].user, out[-1].layer) == (user, layer):
            out[-1] = Shift(user, out[-1].start, hi, layer)
        else:
            out.append(Shift(user, lo, hi, layer))
    return out


def for_user(items: Iterable[Shift], user: str) -> list[Shift]:
    """Only ``user``'s shifts (a personal calendar feed)."""
    return [s for s in items if s.user == user]
