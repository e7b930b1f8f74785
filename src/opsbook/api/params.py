"""Bounds for every time and duration a request carries, in one place for the API and the web UI.

A request may ask about any sane moment, never about year 1 or 9999: those overflow date
arithmetic deep inside a handler (a 500) or, once stored, break every later read of the
schedule or silence list. So each time is checked at the edge, against the injected clock:

- a time lies between 2000-01-01 and ``now + 10 years`` (naive times are read as UTC);
- a duration lies between 1 minute and 5 years unless the caller asks for other bounds.

Every refusal is an :class:`InputError` that names the field (422 problem+json).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsbook.config.durations import format_duration, parse_duration
from opsbook.core.clock import isoformat, utc
from opsbook.core.errors import InputError

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""No request asks about a time before this."""

AHEAD = timedelta(days=3653)
"""No request asks about a time more than about ten years from now."""

MIN_DURATION = timedelta(minutes=1)
MAX_DURATION = timedelta(days=5 * 365)
_MAX_TEXT = 64


def latest(now: datetime) -> datetime:
    """The latest time a request may name at ``now``."""
    return now + AHEAD


def check_time(value: datetime, field: str, now: datetime) -> datetime:
    """``value`` as aware UTC if it lies in [2000-01-01, now + 10 years]; InputError otherwise."""
    try:
        when = utc(value)
    except (OverflowError, ValueError):  # a zone offset pushing it past year 1 or 9999
        when = None
    if when is None or not EARLIEST <= when <= latest(now):
        raise InputError(
            f"{field}: {value.isoformat()} is out of range; give a time between "
            f"{isoformat(EARLIEST)} and {isoformat(latest(now))}",
            field=field,
        )
    return when


def check_optional_time(value: datetime | None, field: str, now: datetime) -> datetime | None:
    return None if value is None else check_time(value, field, now)


def parse_time(text: str, field: str, now: datetime) -> datetime:
    """An ISO 8601 time (``2026-01-01T12:00:00Z``; naive = UTC), checked by :func:`check_time`."""
    raw = text.strip()
    try:
        if len(raw) > _MAX_TEXT:
            raise ValueError(raw)
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{field}: expected an ISO time like 2026-01-01T12:00:00Z, got {text[:_MAX_TEXT]!r}",
            field=field,
        ) from None
    return check_time(value, field, now)


def check_duration(
    value: timedelta,
    field: str,
    *,
    least: timedelta = MIN_DURATION,
    most: timedelta = MAX_DURATION,
) -> timedelta:
    """``value`` if it lies in [least, most]; InputError naming the field otherwise."""
    if not least <= value <= most:
        raise InputError(
            f"{field}: {format_duration(value) if value >= timedelta(0) else value} is out of "
            f"range; give a duration between {format_duration(least)} and "
            f"{format_duration(most)}",
            field=field,
        )
    return value


def parse_bounded_duration(
    text: str,
    field: str,
    *,
    least: timedelta = MIN_DURATION,
    most: timedelta = MAX_DURATION,
) -> timedelta:
    """``30s``/``5m``/``1h30m``/``7d`` text, checked by :func:`check_duration`."""
    raw = text.strip()
    try:
        if len(raw) > _MAX_TEXT:
            raise ValueError(raw)
        value = parse_duration(raw)
    except (ValueError, OverflowError) as exc:
        what = "out of range" if looks_like_duration(raw) else str(exc)
        raise InputError(
            f"{field}: {what}; give a duration between {format_duration(least)} and "
            f"{format_duration(most)}",
            field=field,
        ) from None
    return check_duration(value, field, least=least, most=most)


def looks_like_duration(text: str) -> bool:
    """True for text of duration shape (``30d``, ``1h30m``), whatever its size."""
    raw = text.strip()
    return bool(raw) and raw[0].isdigit() and raw[-1] in "smhdw" and raw.isalnum()


def since_until(
    since: str, until: str | None, now: datetime, *, since_field: str = "since"
) -> tuple[datetime, datetime]:
    """A report window: ``until`` an ISO time (default now); ``since`` a duration back from
    ``until`` or an ISO time before it. Both within the bounds above."""
    end = parse_time(until, "until", now) if until else now
    if looks_like_duration(since):
        back = parse_bounded_duration(since, since_field)
        start = end - back
        if start < EARLIEST:
            raise InputError(
                f"{since_field}: {since.strip()} back from {isoformat(end)} is before "
                f"{isoformat(EARLIEST)}",
                field=since_field,
            )
    else:
        start = parse_time(since, since_field, now)
    if start >= end:
        raise InputError(
            f"{since_field} ({isoformat(start)}) must be before until ({isoformat(end)})",
            field=since_field,
        )
    return start, end
