"""The ``maintenance:`` entries of ``opsbook.yaml`` and the silence guardrail settings.

A window is either one-off (``start`` and ``end``) or recurring (``cron`` + ``duration``, in
``timezone``), and covers ``services`` and/or status-page ``components``::

    maintenance:
      - {name: weekly-db, tenant: acme, services: [checkout-api], cron: "0 2 * * 0",
         duration: 2h, timezone: Europe/Berlin, notify_before: 1h}
      - {name: dc-move, tenant: acme, components: [API], start: 2026-03-01T22:00:00Z,
         end: 2026-03-02T02:00:00Z}
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from opsbook.config.durations import Duration
from opsbook.silences.cron import Cron, CronError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MaintenanceWindow(_Strict):
    """Planned work: alerts of its services are silenced and its components show maintenance."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
    tenant: str
    description: str = Field(default="", description="shown on the public status page")
    services: list[str] = []
    components: list[str] = []
    start: datetime | None = None
    end: datetime | None = None
    cron: str | None = Field(default=None, description='five fields, e.g. "0 2 * * 0"')
    duration: Duration | None = None
    timezone: str = "UTC"
    notify_before: Duration = timedelta(hours=1)

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name like Europe/Berlin)"
            ) from None
        return value

    @field_validator("cron")
    @classmethod
    def _cron_parses(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                Cron.parse(value)
            except CronError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _one_shape(self) -> MaintenanceWindow:
        if not self.services and not self.components:
            raise ValueError("a maintenance window needs services and/or components")
        one_off = self.start is not None or self.end is not None
        recurring = self.cron is not None or self.duration is not None
        if one_off == recurring:
            raise ValueError("give either start and end, or cron and duration (not both)")
        if one_off and (self.start is None or self.end is None or self.end <= self.start):
            raise ValueError("a one-off window needs start and end, with end after start")
        if recurring and (self.cron is None or not self.duration):
            raise ValueError("a recurring window needs cron and a positive duration")
        return self


class StatusPageSettings(_Strict):
    """The ``status_page:`` block: the public page and the guardrails of silences."""

    enabled: bool = Field(default=True, description="serve /status/{tenant} without login")
    title: str = Field(default="{tenant} status", description="page title; {tenant} is replaced")
    history_days: int = Field(default=90, ge=1, le=366)
    silence_max_duration: Duration = Field(
        default=timedelta(days=7), description="longest silence a non-admin may create"
    )
