"""Field types shared by the source formats: bounded label maps and Alertmanager timestamps."""

from __future__ import annotations

from datetime import datetime
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

_ZERO_YEAR = 1


def real_time(value: datetime | None) -> datetime | None:
    """Alertmanager writes "no time" as 0001-01-01T00:00:00Z; treat that as absent."""
    if value is None or value.year <= _ZERO_YEAR:
        return None
    return utc(value)
