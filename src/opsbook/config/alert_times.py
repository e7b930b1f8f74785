"""``alert_times:`` in opsbook.yaml: how far a sender's startsAt/endsAt may lie from receipt.

    alert_times: {max_age: 30d, max_skew: 5m}

Times outside are replaced by the receipt time and noted on the incident (``intake.times``).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from opsbook.config.durations import Duration
from opsbook.intake.times import TimeBounds


class AlertTimes(BaseModel):
    """Bounds on the times a sender claims (``intake.times.TimeBounds``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_age: Duration = Field(
        default=timedelta(days=30),
        description="a startsAt older than this before receipt is replaced by the receipt time",
    )
    max_skew: Duration = Field(
        default=timedelta(minutes=5),
        description="a startsAt later than this after receipt is replaced by the receipt time",
    )

    def bounds(self) -> TimeBounds:
        return TimeBounds(max_age=self.max_age, max_skew=self.max_skew)
