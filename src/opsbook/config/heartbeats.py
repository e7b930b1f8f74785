"""``heartbeats:`` in ``opsbook.yaml``: dead man's switches that page when a sender goes quiet.

A heartbeat expects a ping at least every ``interval``; ``grace`` later without one, it opens an
incident on ``service`` with ``severity`` (paged by the service's escalation policy), and the
next ping resolves it. A ping is ``POST /api/v1/heartbeats/<name>/ping`` with an intake token
of the service's tenant (of ``integration`` when set), or — when ``alert`` is set — that
always-firing alert (Prometheus's ``Watchdog``) arriving through the Alertmanager webhook or
``/api/v2/alerts``, which then opens no incident of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from opsbook.config.durations import Duration
from opsbook.incidents.models import Severity

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
_ALERT = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"


class Heartbeat(BaseModel):
    """One dead man's switch (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME, description="the name in the ping URL")
    service: str = Field(description="the service whose incident opens when pings stop")
    tenant: str | None = Field(
        default=None, description="the service's tenant (needed only when several have it)"
    )
    interval: Duration = Field(description="a ping is expected at least this often")
    grace: Duration = Field(
        default=timedelta(minutes=1), description="extra time after the interval before paging"
    )
    severity: Severity = Severity.P1
    alert: str | None = Field(
        default=None,
        pattern=_ALERT,
        description="an always-firing alert that counts as a ping (e.g. Watchdog)",
    )
    integration: str | None = Field(
        default=None,
        max_length=128,
        description="only intake tokens of this integration may ping (default: any of the tenant)",
    )
    summary: str = Field(default="", max_length=1000)

    @field_validator("interval")
    @classmethod
    def _interval_sane(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=10) <= value <= timedelta(days=35):
            raise ValueError("a heartbeat interval lies between 10s and 35d")
        return value

    @field_validator("grace")
    @classmethod
    def _grace_sane(cls, value: timedelta) -> timedelta:
        if not timedelta(0) <= value <= timedelta(days=7):
            raise ValueError("a heartbeat grace lies between 0s and 7d")
        return value

    @property
    def timeout(self) -> timedelta:
        """How long after the last ping (or since it is known) the heartbeat is overdue."""
        return self.interval + self.grace


def owners(heartbeats: Sequence[Heartbeat], services: Sequence[tuple[str, str]]) -> list[str]:
    """Each heartbeat's tenant, from its service's ``(tenant, name)``; raises ValueError naming
    ``heartbeats[i]`` for an unknown or ambiguous service or a name used twice in a tenant."""
    out: list[str] = []
    seen: set[tuple[str, str]] = set()
    for i, hb in enumerate(heartbeats):
        tenants = [t for t, n in services if n == hb.service and hb.tenant in (None, t)]
        if not tenants:
            raise ValueError(f"heartbeats[{i}].service: unknown service {hb.service!r}")
        if len(tenants) > 1:
            raise ValueError(
                f"heartbeats[{i}].tenant: service {hb.service!r} exists in several tenants: "
                "name the tenant"
            )
        if (tenants[0], hb.name) in seen:
            raise ValueError(f"heartbeats[{i}].name: {hb.name!r} is used twice in {tenants[0]}")
        seen.add((tenants[0], hb.name))
        out.append(tenants[0])
    return out
