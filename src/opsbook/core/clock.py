"""Time as an injected dependency, so "for 5 minutes" is testable in milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current UTC time."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock, always timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def utc(dt: datetime) -> datetime:
    """Return ``dt`` as aware UTC; naive values are taken to be UTC already."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def isoformat(dt: datetime | None) -> str | None:
    """RFC 3339 text with a ``Z`` suffix, the form every API response uses."""
    if dt is None:
        return None
    return utc(dt).isoformat().replace("+00:00", "Z")
