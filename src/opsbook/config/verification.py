"""``verification:`` in ``opsbook.yaml``: run every read-only runbook step on a schedule.

Runbooks rot quietly: a renamed host, a dropped table, a binary no longer installed. With
``every`` set, the worker runs each service's read-only diagnostic steps that often and keeps
the history; ``opsbook runbooks lint --stale`` (and the verify report) call a step stale when it
has not passed for ``stale_after``.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from opsbook.config.durations import Duration


class Verification(BaseModel):
    """How often runbook steps are verified, and when an unverified step counts as stale."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    every: Duration | None = Field(
        default=None, description="run the verification this often (e.g. 24h); unset: by hand only"
    )
    stale_after: Duration = Field(
        default=timedelta(days=7), description="a step not passing for this long is stale"
    )
    step_timeout: Duration = Field(
        default=timedelta(seconds=20), description="time bound of each verified step"
    )
