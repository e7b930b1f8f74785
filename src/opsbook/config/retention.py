"""``retention:`` in opsbook.yaml: how long each kind of data is kept, per tenant.

A duration (``90d``) keeps that long after the data's last change; ``keep`` (or null) keeps it
for ever. Tenants override only the kinds they name.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from opsbook.config.durations import Duration

Kind = Literal["alerts", "step_outputs", "deliveries", "incidents", "postmortems"]
KINDS: tuple[Kind, ...] = ("alerts", "step_outputs", "deliveries", "incidents", "postmortems")


def _keep(value: Any) -> Any:
    return None if value is None or (isinstance(value, str) and value.strip() == "keep") else value


Keep = Annotated[Duration | None, BeforeValidator(_keep)]


class Periods(BaseModel):
    """One retention period per kind; a kind left out follows the defaults."""

    model_config = ConfigDict(extra="forbid")

    alerts: Keep = Field(default=timedelta(days=90), description="raw alerts of closed incidents")
    step_outputs: Keep = Field(
        default=timedelta(days=90), description="the output of finished step runs (the run stays)"
    )
    deliveries: Keep = Field(default=None, description="sent, dead or cancelled notifications")
    incidents: Keep = Field(
        default=None, description="closed incidents with everything of theirs (kept by default)"
    )
    postmortems: Keep = Field(default=None, description="completed post-mortems (kept by default)")


class Retention(BaseModel):
    """Defaults, per-tenant overrides and how the worker purges (batches, pauses, how often)."""

    model_config = ConfigDict(extra="forbid")

    defaults: Periods = Periods()
    tenants: dict[str, Periods] = {}
    every: Duration = Field(default=timedelta(hours=1), description="how often the purge runs")
    batch: int = Field(default=2000, ge=100, le=5000, description="rows per short transaction")
    pause: Duration = Field(
        default=timedelta(milliseconds=20),
        description="rest between batches, so intake never waits behind a purge",
    )

    def periods(self, tenant: str) -> dict[str, timedelta | None]:
        """Every kind's period for ``tenant``: the defaults, then what the tenant sets."""
        out: dict[str, timedelta | None] = {k: getattr(self.defaults, k) for k in KINDS}
        override = self.tenants.get(tenant)
        if override is not None:
            out.update({k: getattr(override, k) for k in override.model_fields_set})
        return out
