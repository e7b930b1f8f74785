"""Field types shared by the source formats: bounded label maps and Alertmanager timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from opsbook.core.clock import utc

LabelName = Annotated[str, StringConstraints(min_length=1, max_length=256)]
LabelValue = Annotated[str, StringConstraints(max_length=8192)]
AnnotationValue = Annotated[str, StringConstraints(max_length=65536)]


def _bounded(value: dict[str, str]) -> dict[str, str]:
    if len(value) > 128:
        raise ValueError("at most 128 entries are accepted")
    return value


Labels = Annotated[dict[LabelName, LabelValue], AfterValidator(_bounded)]
Annotations = Annotated[dict[LabelName, AnnotationValue], AfterValidator(_bounded)]
Url = Annotated[str, Field(max_length=8192)]

_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)  # Go's time.Time{}: Alertmanager's "no time"


def claimed_time(value: datetime | None) -> datetime | None:
    """A time a sender claims (``startsAt``), as aware UTC, kept for ``intake.times`` to judge:
    even Go's zero time, since an alert that began in year 1 is a claim to note, not "no time".

    A time whose zone offset pushes it past year 9999 (or before year 1) is the latest
    (earliest) time there is, never an overflow.
    """
    if value is None:
        return None
    try:
        return utc(value)
    except OverflowError:
        return (datetime.max if value.year > 1 else datetime.min).replace(tzinfo=UTC)


def real_time(value: datetime | None) -> datetime | None:
    """An ``endsAt``: Alertmanager writes "no end" as 0001-01-01T00:00:00Z; exactly that is
    absent, any other time is kept (as :func:`claimed_time`)."""
    at = claimed_time(value)
    return None if at == _ZERO_TIME else at
